//! Error types: every way a PDU can fail to decode or a message can fail to encode, each phrased as one line
//! that names the field at fault, so `simrelay decode-pdu` can print it as is.

use thiserror::Error;

/// Why a PDU could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input held no bytes at all.
    #[error("the PDU is empty")]
    Empty,
    /// Hex text with an odd number of digits or a character that is not a hex digit.
    #[error("not a hex PDU: {0}")]
    InvalidHex(String),
    /// A fixed-size field runs past the end of the PDU.
    #[error("the PDU ends inside the {field}: it needs {needed} more byte(s) but only {remaining} remain")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the PDU.
        remaining: usize,
    },
    /// The SMSC field's length octet is larger than an address can be.
    #[error("the SMSC length octet says {0} bytes, more than the 11 an address can take")]
    SmscTooLong(u8),
    /// An address length is larger than TS 23.040 allows.
    #[error("the {field} length says {digits} digits, more than the 20 an address can take")]
    AddressTooLong {
        /// Which address.
        field: &'static str,
        /// The digit (semi-octet) count found.
        digits: u8,
    },
    /// TP-MTI 3 is reserved.
    #[error("message type 3 is reserved (first octet {0:#04x})")]
    ReservedMessageType(u8),
    /// A timestamp field has a semi-octet that is not a decimal digit or a value out of range.
    #[error("the {field} is not a valid date and time ({detail})")]
    InvalidTimestamp {
        /// Which timestamp.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// TP-UDL promises more user data than the PDU holds.
    #[error("the user data length says {claimed} bytes but only {remaining} remain")]
    UserDataTruncated {
        /// Bytes of user data implied by TP-UDL.
        claimed: usize,
        /// Bytes left in the PDU.
        remaining: usize,
    },
    /// TP-UDL is larger than one SMS can carry (160 septets or 140 octets).
    #[error("the user data length says {udl} {unit}, more than the {max} one SMS can carry")]
    UserDataTooLong {
        /// TP-UDL.
        udl: usize,
        /// `"septets"` or `"bytes"`.
        unit: &'static str,
        /// The limit for that unit.
        max: usize,
    },
    /// TP-UDHI is set but the header length octet points past the user data.
    #[error("the user data header claims {claimed} bytes but only {remaining} remain")]
    UdhOverrun {
        /// Bytes claimed by the UDH length octet.
        claimed: usize,
        /// Bytes of user data left after the length octet.
        remaining: usize,
    },
    /// One information element inside the header overruns the header.
    #[error("user data header element {iei:#04x} claims {claimed} bytes but only {remaining} remain in the header")]
    UdhElementOverrun {
        /// The element's identifier.
        iei: u8,
        /// Bytes the element claims.
        claimed: usize,
        /// Bytes left in the header.
        remaining: usize,
    },
    /// A 7-bit message whose header septets exceed the septet count in TP-UDL.
    #[error("the user data header takes {header} septets but the user data length is only {udl}")]
    UdhLongerThanUserData {
        /// Septets the header (with fill bits) occupies.
        header: usize,
        /// TP-UDL.
        udl: usize,
    },
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The destination is not a phone number.
    #[error("the recipient {0:?} is not a phone number: use digits with an optional leading +")]
    InvalidRecipient(String),
    /// The text needs more than the 255 parts concatenation allows.
    #[error("the text needs {0} parts but a concatenated SMS can have at most 255")]
    TooManyParts(usize),
}
