//! Webhook signatures: `X-SimRelay-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, keyed with the
//! target's secret, next to `X-SimRelay-Timestamp: <timestamp>` (seconds since 1970).
//!
//! Signing the timestamp with the body lets a receiver refuse an old request replayed by someone who recorded
//! it (compare the timestamp with its clock), and the body cannot be changed without the secret. Receivers
//! should compare signatures in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header with the signature.
pub const SIGNATURE_HEADER: &str = "X-SimRelay-Signature";
/// Header with the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "X-SimRelay-Timestamp";

/// The value of [`SIGNATURE_HEADER`] for `body` sent at `timestamp` (seconds since 1970) with `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_string_is_timestamp_dot_body() {
        // Computed independently with Python: hmac.new(b"s3cret", b'1700000000.{"id":1}', sha256).hexdigest()
        assert_eq!(
            signature(b"s3cret", 1_700_000_000, br#"{"id":1}"#),
            "sha256=ee0658aa4e37018df69c24227df01e0f680eb3b87c7f1f9bd936e283cfe01d9b"
        );
        let sig = signature(b"s3cret", 1_700_000_000, b"x");
        assert_ne!(sig, signature(b"s3cret", 1_700_000_001, b"x"));
        assert_ne!(sig, signature(b"other", 1_700_000_000, b"x"));
        assert_ne!(sig, signature(b"s3cret", 1_700_000_000, b"y"));
    }
}
