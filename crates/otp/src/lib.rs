//! Verification-code extraction. Being written: see issue 5.
