//! SMS TPDU codec (3GPP TS 23.040 / 23.038). Being written: see issue 3.
