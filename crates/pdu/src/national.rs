//! National language identifiers of TS 23.038 §6.2.1.2.4 and their shift tables (Annex A). A message selects
//! them with UDH IEI 0x25 (locking shift: replaces the default alphabet) and IEI 0x24 (single shift: replaces
//! the extension table reached through the escape).

use serde::Serialize;

/// A national language with its own shift table(s). The discriminants are the identifiers used in the UDH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Language {
    /// Turkish (locking and single shift).
    Turkish = 1,
    /// Spanish (single shift only).
    Spanish = 2,
    /// Portuguese (locking and single shift).
    Portuguese = 3,
    /// Bengali and Assamese.
    Bengali = 4,
    /// Gujarati.
    Gujarati = 5,
    /// Hindi.
    Hindi = 6,
    /// Kannada.
    Kannada = 7,
    /// Malayalam.
    Malayalam = 8,
    /// Oriya.
    Oriya = 9,
    /// Punjabi.
    Punjabi = 10,
    /// Tamil.
    Tamil = 11,
    /// Telugu.
    Telugu = 12,
    /// Urdu.
    Urdu = 13,
}

impl Language {
    /// Every language, in identifier order.
    pub const ALL: [Language; 13] = [
        Language::Turkish,
        Language::Spanish,
        Language::Portuguese,
        Language::Bengali,
        Language::Gujarati,
        Language::Hindi,
        Language::Kannada,
        Language::Malayalam,
        Language::Oriya,
        Language::Punjabi,
        Language::Tamil,
        Language::Telugu,
        Language::Urdu,
    ];

    /// The language with this UDH identifier, if TS 23.038 defines one.
    pub fn from_id(id: u8) -> Option<Language> {
        Language::ALL.get(usize::from(id).checked_sub(1)?).copied()
    }

    /// The identifier used in UDH IEIs 0x24 and 0x25.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// Lower-case English name, as used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Turkish => "turkish",
            Language::Spanish => "spanish",
            Language::Portuguese => "portuguese",
            Language::Bengali => "bengali",
            Language::Gujarati => "gujarati",
            Language::Hindi => "hindi",
            Language::Kannada => "kannada",
            Language::Malayalam => "malayalam",
            Language::Oriya => "oriya",
            Language::Punjabi => "punjabi",
            Language::Tamil => "tamil",
            Language::Telugu => "telugu",
            Language::Urdu => "urdu",
        }
    }

    /// The national locking shift table, if the language has one (Spanish has none).
    pub(crate) fn locking_table(self) -> Option<&'static [char; 128]> {
        crate::tables::locking(self)
    }

    /// The national single shift table as (septet after the escape, character).
    pub(crate) fn single_shift_table(self) -> Option<&'static [(u8, char)]> {
        crate::tables::single(self)
    }

    /// Whether the language defines a locking shift table.
    pub fn has_locking_table(self) -> bool {
        self.locking_table().is_some()
    }
}
