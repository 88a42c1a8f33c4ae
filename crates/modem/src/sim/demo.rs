//! Sample messages for the `--demo` mode: realistic in shape (codes among amounts, card endings and
//! phone numbers; several languages; one long multipart message) and clearly labelled as demo data.
//!
//! Senders are invented names, numbers use the fictional 555 range, and every text says "demo", so
//! nobody mistakes them for real messages. The engine decides the timing and calls
//! [`Simulator::deliver_text`](crate::sim::Simulator::deliver_text) with them.

use chrono::{DateTime, FixedOffset};

use super::Simulator;

/// One demo message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoMessage {
    /// Sender as shown on a phone: an alphanumeric name or a number.
    pub sender: &'static str,
    /// Body text.
    pub text: &'static str,
    /// The verification code a good extractor finds in it, if any (for the engine's tests).
    pub code: Option<&'static str>,
}

const MESSAGES: &[DemoMessage] = &[
    DemoMessage {
        sender: "DemoBank",
        text: "[DEMO] Your DemoBank verification code is 482913. It expires in 5 minutes. Never share it.",
        code: Some("482913"),
    },
    DemoMessage {
        sender: "+15555550123",
        text: "[DEMO] Hi! Are we still on for lunch at 12:30? Table for 4 is booked.",
        code: None,
    },
    DemoMessage {
        sender: "DemoShop",
        text: "[DEMO] Payment of EUR 129.99 with card ending 4821 approved. Code to confirm: 7351",
        code: Some("7351"),
    },
    DemoMessage {
        sender: "DemoMail",
        text: "[DEMO] G-640215 ist dein Bestätigungscode für DemoMail. Gib ihn nicht weiter.",
        code: Some("640215"),
    },
    DemoMessage {
        sender: "DemoPay",
        text: "[DEMO] Votre code de vérification DemoPay est 305 118. Ne le partagez avec personne.",
        code: Some("305118"),
    },
    DemoMessage {
        sender: "DemoTaxi",
        text: "[DEMO] Код подтверждения: 9042. Ваш водитель приедет через 3 минуты 🚕",
        code: Some("9042"),
    },
    DemoMessage {
        sender: "DemoChat",
        text: "[DEMO] 您的验证码是 551204，10分钟内有效。",
        code: Some("551204"),
    },
    DemoMessage {
        sender: "DemoAir",
        text: "[DEMO] Flight DA 2417 to Lisbon departs 18:45 from gate B12. Boarding starts 18:05. \
Please have your boarding pass ready and note that the gate closes 20 minutes before departure. \
Call +1 555 555 0199 for changes. Have a pleasant trip!",
        code: None,
    },
    DemoMessage {
        sender: "+15555550188",
        text: "[DEMO] Tu código de acceso es 8267. Si no lo solicitaste, ignora este mensaje.",
        code: Some("8267"),
    },
];

/// The built-in demo messages, in the order the demo mode plays them.
pub fn demo_messages() -> &'static [DemoMessage] {
    MESSAGES
}

/// Encodes a message as SMS-DELIVER PDUs (one per part, each with an SMSC field).
pub fn demo_pdus(message: &DemoMessage, sent_at: DateTime<FixedOffset>) -> Vec<Vec<u8>> {
    simrelay_pdu::encode_deliver(message.sender, message.text, sent_at)
}

impl Simulator {
    /// Encodes `text` from `sender` as SMS-DELIVER PDUs and delivers every part (stored, with a
    /// `+CMTI` each). Returns the slots (0 for a part the full SIM could not take).
    pub fn deliver_text(
        &self,
        sender: &str,
        text: &str,
        sent_at: DateTime<FixedOffset>,
    ) -> Vec<u32> {
        simrelay_pdu::encode_deliver(sender, text, sent_at)
            .into_iter()
            .map(|pdu| self.deliver(pdu))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_messages_are_labelled_and_encode() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:05+01:00").unwrap();
        for m in demo_messages() {
            assert!(m.text.starts_with("[DEMO]"), "{}", m.text);
            let pdus = demo_pdus(m, now);
            assert!(!pdus.is_empty());
            let decoded = simrelay_pdu::decode(&pdus[0]).unwrap();
            let _ = decoded;
        }
        assert!(demo_messages().iter().any(|m| m.code.is_none()));
        // At least one long message exercises multipart.
        assert!(demo_messages().iter().any(|m| demo_pdus(m, now).len() > 1));
    }
}
