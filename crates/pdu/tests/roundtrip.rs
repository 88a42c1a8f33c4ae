//! Property tests: encode → decode → assemble gives the text back, for random text in every alphabet, random
//! lengths (so random part counts) and random arrival orders; arbitrary bytes never make the decoder panic.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone};
use proptest::prelude::*;
use simrelay_pdu::{
    decode, encode_deliver_with, encode_submit, plan, Assembler, DeliverOptions, Encoding,
    Language, Pdu, SubmitOptions,
};

const GSM: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXT: &str = "\u{0C}^{}\\[~]|€";

fn chars_from(pool: &'static str, max: usize) -> impl Strategy<Value = String> {
    let pool: Vec<char> = pool.chars().collect();
    prop::collection::vec(prop::sample::select(pool), 0..max).prop_map(|v| v.into_iter().collect())
}

fn timestamp() -> impl Strategy<Value = DateTime<FixedOffset>> {
    (0i64..2_800_000_000, -48i32..=56).prop_map(|(secs, quarters)| {
        let tz = FixedOffset::east_opt(quarters * 900).unwrap();
        tz.timestamp_opt(946_684_800 + secs, 0).unwrap()
    })
}

/// A permutation of `0..n` from a seed (Fisher-Yates with a small LCG).
fn shuffled(n: usize, mut seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        v.swap(i, (seed >> 33) as usize % (i + 1));
    }
    v
}

/// Decodes every part, pushes them in a shuffled order, and returns the single assembled message.
fn assemble(parts: &[Vec<u8>], seed: u64) -> simrelay_pdu::Assembled<usize> {
    let mut a = Assembler::new(Duration::from_secs(60));
    let now = Instant::now();
    let mut done = Vec::new();
    for i in shuffled(parts.len(), seed) {
        let Pdu::Deliver(d) = decode(&parts[i]).unwrap() else {
            panic!("not a deliver")
        };
        done.extend(a.push(d, i, now));
    }
    assert_eq!(done.len(), 1);
    assert_eq!(a.pending(), 0);
    done.remove(0)
}

fn national_text() -> impl Strategy<Value = (Language, String)> {
    prop::sample::select(Language::ALL.to_vec()).prop_flat_map(|lang| {
        // Characters the language's tables can write (taken from a round trip of every septet).
        let mut pool: Vec<char> = Vec::new();
        for s in 0u8..0x80 {
            for septets in [vec![s], vec![0x1B, s]] {
                let text = simrelay_pdu_test_support::decode_septets(&septets, lang);
                pool.extend(text.chars().filter(|c| *c != char::REPLACEMENT_CHARACTER));
            }
        }
        pool.sort_unstable();
        pool.dedup();
        (
            Just(lang),
            prop::collection::vec(prop::sample::select(pool), 1..400)
                .prop_map(|v| v.into_iter().collect()),
        )
    })
}

/// Decodes septets with a language's locking and single shift tables by building a one-part PDU.
mod simrelay_pdu_test_support {
    use simrelay_pdu::{decode, Language, Pdu};

    pub fn decode_septets(septets: &[u8], lang: Language) -> String {
        let mut header = vec![0x24, 0x01, lang.id()];
        if lang.has_locking_table() {
            header.extend([0x25, 0x01, lang.id()]);
        }
        header.insert(0, header.len() as u8);
        let skip = (header.len() * 8).div_ceil(7);
        let mut bits: Vec<bool> = header
            .iter()
            .flat_map(|b| (0..8).map(move |i| b >> i & 1 == 1))
            .collect();
        bits.resize(skip * 7, false);
        for s in septets {
            bits.extend((0..7).map(|i| s >> i & 1 == 1));
        }
        let ud: Vec<u8> = bits
            .chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &x)| b | (u8::from(x) << i))
            })
            .collect();
        let mut pdu = vec![
            0x00, 0x44, 0x03, 0x81, 0x21, 0xF3, 0x00, 0x00, 0x52, 0x11, 0x03, 0x01, 0x00, 0x00,
            0x00,
        ];
        pdu.push((skip + septets.len()) as u8);
        pdu.extend(ud);
        match decode(&pdu).unwrap() {
            Pdu::Deliver(d) => d.text,
            other => panic!("{other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn gsm7_round_trip(text in chars_from(GSM, 700), ext in chars_from(GSM_EXT, 40), ts in timestamp(),
                       wide in any::<bool>(), reference in any::<u16>(), seed in any::<u64>()) {
        let text: String = text.chars().chain(ext.chars()).collect();
        let opts = DeliverOptions { ref_bits: if wide { 16 } else { 8 }, reference: if wide { reference } else { reference & 0xFF }, ..Default::default() };
        let parts = encode_deliver_with("+4915123456789", &text, ts, &opts).unwrap();
        if !wide {
            // plan() counts for sending, which uses 8-bit references; a 16-bit one costs a septet per part.
            prop_assert_eq!(parts.len(), plan(&text, None).parts);
        }
        let m = assemble(&parts, seed);
        prop_assert_eq!(m.encoding, Encoding::Gsm7);
        prop_assert_eq!(&m.text, &text);
        prop_assert_eq!(m.timestamp, ts);
        prop_assert_eq!(m.timestamp.offset(), ts.offset());
    }

    #[test]
    fn ucs2_round_trip(text in "\\PC{0,400}", ts in timestamp(), seed in any::<u64>(), force in any::<bool>()) {
        let opts = DeliverOptions { force_ucs2: force, ..Default::default() };
        let parts = encode_deliver_with("Sender", &text, ts, &opts).unwrap();
        let m = assemble(&parts, seed);
        prop_assert_eq!(&m.text, &text);
        prop_assert_eq!(m.sender.number, "Sender");
    }

    #[test]
    fn national_round_trip((lang, text) in national_text(), seed in any::<u64>()) {
        let ts = FixedOffset::east_opt(19800).unwrap().with_ymd_and_hms(2025, 5, 6, 7, 8, 9).unwrap();
        let opts = DeliverOptions { national_language: Some(lang), ..Default::default() };
        let parts = encode_deliver_with("+919812345678", &text, ts, &opts).unwrap();
        let p = plan(&text, Some(lang));
        prop_assert_eq!(p.encoding, Encoding::Gsm7);
        prop_assert_eq!(parts.len(), p.parts);
        prop_assert_eq!(&assemble(&parts, seed).text, &text);
    }

    #[test]
    fn submit_round_trip(text in "\\PC{0,500}", lang in prop::option::of(prop::sample::select(Language::ALL.to_vec())),
                         srr in any::<bool>()) {
        let opts = SubmitOptions { request_status_report: srr, national_language: lang, concat_reference: 42, ..Default::default() };
        let parts = encode_submit("+31641600986", &text, &opts).unwrap();
        prop_assert_eq!(parts.len(), plan(&text, lang).parts);
        let mut joined = String::new();
        for p in &parts {
            prop_assert_eq!(p[0], 0x00);
            let Pdu::Submit(s) = decode(p).unwrap() else { panic!("not a submit") };
            prop_assert_eq!(s.status_report_request, srr);
            prop_assert_eq!(&s.recipient.number, "+31641600986");
            // The encoder never cuts a character, so each part decodes on its own.
            prop_assert!(!s.text.contains(char::REPLACEMENT_CHARACTER) || text.contains(char::REPLACEMENT_CHARACTER));
            joined.push_str(&s.text);
        }
        prop_assert_eq!(joined, text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&bytes);
        let _ = simrelay_pdu::decode_tpdu(&bytes);
    }

    #[test]
    fn mutated_valid_pdus_never_panic(pos in any::<prop::sample::Index>(), value in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let ts = FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let mut pdu = encode_deliver_with("+4915123456789", &"x€".repeat(100), ts, &DeliverOptions::default()).unwrap().remove(0);
        let i = pos.index(pdu.len());
        pdu[i] = value;
        let n = cut.index(pdu.len() + 1);
        if let Ok(Pdu::Deliver(d)) = decode(&pdu[..n]) {
            let mut a = Assembler::new(Duration::from_secs(1));
            let _ = a.push(d, (), Instant::now());
            let _ = a.flush();
        }
    }

    /// A PDU cut short inside its user data (as phones store some) decodes to a prefix of its text, flagged
    /// truncated, for 7-bit text with escapes and for UCS2 with surrogate pairs.
    #[test]
    fn user_data_cut_short_decodes_a_prefix(gsm in chars_from("Hello €[]{} ÄÖ123", 150), wide in "\\PC{0,60}",
                                            ucs2 in any::<bool>(), cut in any::<prop::sample::Index>()) {
        let text = if ucs2 { format!("Ω{wide}") } else { gsm };
        let ts = FixedOffset::east_opt(3600).unwrap().with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap();
        let parts = encode_deliver_with("+4915123456789", &text, ts, &DeliverOptions::default()).unwrap();
        prop_assume!(parts.len() == 1);
        let pdu = &parts[0];
        let Pdu::Deliver(full) = decode(pdu).unwrap() else { panic!() };
        prop_assert_eq!(&full.text, &text);
        prop_assert!(!full.truncated);
        prop_assert_eq!(full.timestamp, ts);
        // The user data is the tail of the PDU: cut up to all of it, keeping TP-UDL.
        let ud_octets = if full.encoding == Encoding::Gsm7 { (full.user_data.len() * 7).div_ceil(8) } else { full.user_data.len() };
        let k = cut.index(ud_octets + 1);
        let Pdu::Deliver(short) = decode(&pdu[..pdu.len() - k]).unwrap() else { panic!() };
        prop_assert_eq!(short.truncated, k > 0);
        let got = short.text.strip_suffix('\u{FFFD}').unwrap_or(&short.text);
        prop_assert!(text.starts_with(got), "{:?} is not a prefix of {:?}", got, text);
    }
}
