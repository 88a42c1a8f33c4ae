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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gsm7::{self, Tables, UNDEFINED};
    use crate::{decode, encode_deliver_with, DeliverOptions, Encoding, Pdu};

    fn tables(locking: Option<Language>, single: Option<Language>) -> Tables {
        Tables { locking, single }
    }

    /// Builds a DELIVER whose header selects the tables and whose payload is `septets`, then decodes it.
    fn deliver_text(locking: Option<Language>, single: Option<Language>, septets: &[u8]) -> String {
        let mut elements = Vec::new();
        if let Some(l) = single {
            elements.extend([0x24, 0x01, l.id()]);
        }
        if let Some(l) = locking {
            elements.extend([0x25, 0x01, l.id()]);
        }
        let mut header = vec![elements.len() as u8];
        header.extend(elements);
        let ud = gsm7::pack(&header, septets);
        let udl = gsm7::header_septets(header.len()) + septets.len();
        let mut pdu = vec![0x00, 0x44, 0x03, 0x81, 0x21, 0xF3, 0x00, 0x00];
        pdu.extend([0x52, 0x11, 0x03, 0x01, 0x00, 0x00, 0x00, udl as u8]);
        pdu.extend(ud);
        match decode(&pdu).unwrap() {
            Pdu::Deliver(d) => d.text,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn turkish_vectors() {
        let t = Some(Language::Turkish);
        // Locking: ı 0x07, Ğ 0x0B, ğ 0x0C, Ş 0x1C, ş 0x1D, İ 0x40, ç 0x60, € 0x04.
        assert_eq!(
            deliver_text(t, None, &[0x07, 0x0B, 0x0C, 0x1C, 0x1D, 0x40, 0x60, 0x04]),
            "ıĞğŞşİç€"
        );
        // Single shift over the default alphabet: each Turkish letter sits at its base letter's position.
        let s = [
            0x1B, 0x47, 0x1B, 0x49, 0x1B, 0x53, 0x1B, 0x63, 0x1B, 0x67, 0x1B, 0x69, 0x1B, 0x73,
            0x41,
        ];
        assert_eq!(deliver_text(None, t, &s), "ĞİŞçğışA");
    }

    #[test]
    fn spanish_and_portuguese_vectors() {
        let es = Some(Language::Spanish);
        let s = [
            0x1B, 0x09, 0x1B, 0x41, 0x1B, 0x49, 0x1B, 0x4F, 0x1B, 0x55, 0x1B, 0x61, 0x1B, 0x75,
        ];
        assert_eq!(deliver_text(None, es, &s), "çÁÍÓÚáú");
        // Spanish has no locking table: IEI 0x25 naming it leaves the default alphabet in force.
        assert_eq!(deliver_text(es, None, &[0x04, 0x7D]), "èñ");
        let pt = Some(Language::Portuguese);
        let s = [
            0x04, 0x06, 0x09, 0x0B, 0x15, 0x18, 0x24, 0x5B, 0x5C, 0x60, 0x7B, 0x7C, 0x7D,
        ];
        assert_eq!(deliver_text(pt, None, &s), "êúçÔ∞€ºÃÕ~ãõ`");
        assert_eq!(
            deliver_text(None, pt, &[0x1B, 0x12, 0x1B, 0x5C, 0x1B, 0x7F]),
            "ΦÕâ"
        );
    }

    #[test]
    fn hindi_vector() {
        let hi = Some(Language::Hindi);
        // नमस्ते: न 0x2F, म 0x42, स 0x4C, ् 0x5F, त 0x27, े 0x59; then ESC 0x1C = ० and ESC 0x41 = A.
        let s = [
            0x2F, 0x42, 0x4C, 0x5F, 0x27, 0x59, 0x20, 0x1B, 0x1C, 0x1B, 0x41,
        ];
        assert_eq!(deliver_text(hi, hi, &s), "नमस्ते ०A");
    }

    #[test]
    fn each_indic_table_is_in_its_script() {
        // Position 0x15 is the letter KA in every Indic locking table, and each single shift table holds the
        // script's digit zero (block offset 0x66): spot checks that each table belongs to its script.
        let ka = [
            (Language::Bengali, '\u{0995}'),
            (Language::Gujarati, '\u{0A95}'),
            (Language::Hindi, '\u{0915}'),
            (Language::Kannada, '\u{0C95}'),
            (Language::Malayalam, '\u{0D15}'),
            (Language::Oriya, '\u{0B15}'),
            (Language::Punjabi, '\u{0A15}'),
            (Language::Tamil, '\u{0B95}'),
            (Language::Telugu, '\u{0C15}'),
        ];
        for (lang, c) in ka {
            assert_eq!(lang.locking_table().unwrap()[0x15], c, "{lang:?}");
            let zero = char::from_u32(u32::from(c) - 0x15 + 0x66).unwrap();
            assert!(
                lang.single_shift_table()
                    .unwrap()
                    .iter()
                    .any(|&(_, d)| d == zero),
                "{lang:?}"
            );
        }
        assert_eq!(Language::Urdu.locking_table().unwrap()[0x00], '\u{0627}'); // ALEF
        assert_eq!(
            Language::Urdu
                .single_shift_table()
                .unwrap()
                .iter()
                .find(|(k, _)| *k == 0x1C)
                .unwrap()
                .1,
            '۰'
        );
    }

    #[test]
    fn every_table_entry_round_trips_through_a_pdu() {
        for lang in Language::ALL {
            let locking = lang.has_locking_table().then_some(lang);
            let t = tables(locking, Some(lang));
            let mut text = String::new();
            if let Some(table) = lang.locking_table() {
                text.extend(table.iter().filter(|&&c| c != UNDEFINED));
            }
            text.extend(lang.single_shift_table().unwrap().iter().map(|(_, c)| *c));
            let septets = gsm7::encode(&text, t)
                .unwrap_or_else(|| panic!("{lang:?} cannot encode its own table"));
            assert_eq!(gsm7::decode(&septets, t), text, "{lang:?}");
            assert_eq!(
                deliver_text(locking, Some(lang), &septets[..septets.len().min(150)]),
                gsm7::decode(&septets[..septets.len().min(150)], t)
            );
        }
    }

    #[test]
    fn tables_have_no_duplicate_positions_or_escape_entries() {
        for lang in Language::ALL {
            let single = lang.single_shift_table().unwrap();
            let mut keys: Vec<u8> = single.iter().map(|(k, _)| *k).collect();
            keys.dedup();
            assert_eq!(keys.len(), single.len(), "{lang:?}");
            assert!(keys.iter().all(|&k| k < 0x80 && k != 0x1B), "{lang:?}");
            if let Some(l) = lang.locking_table() {
                assert_eq!(l[0x1B], UNDEFINED);
                assert_eq!((l[0x0A], l[0x0D], l[0x20]), ('\n', '\r', ' '), "{lang:?}");
            }
        }
    }

    #[test]
    fn encoder_picks_the_national_tables() {
        let ts = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap();
        let text = "Çok güzel ışık, teşekkürler!";
        let p = crate::plan(text, Some(Language::Turkish));
        assert_eq!(
            (p.encoding, p.single_shift, p.locking_shift),
            (Encoding::Gsm7, Some(Language::Turkish), None)
        );
        assert_eq!(crate::plan(text, None).encoding, Encoding::Ucs2);
        let opts = DeliverOptions {
            national_language: Some(Language::Turkish),
            ..Default::default()
        };
        let parts = encode_deliver_with("+905321234567", text, ts, &opts).unwrap();
        let Pdu::Deliver(d) = decode(&parts[0]).unwrap() else {
            panic!()
        };
        assert_eq!(d.text, text);
        assert_eq!(d.udh.unwrap().single_shift, Some(Language::Turkish));
        // Hindi text needs the locking table.
        let p = crate::plan("नमस्ते दुनिया", Some(Language::Hindi));
        assert_eq!(
            (p.encoding, p.locking_shift),
            (Encoding::Gsm7, Some(Language::Hindi))
        );
    }
}
