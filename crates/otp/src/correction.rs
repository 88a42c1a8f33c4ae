//! A user's correction of a sender's codes, applied to an [`Extraction`]: "this sender never sends codes", or "this
//! sender's code is the one shaped like this" (eight digits, six letters and digits). The user's word wins over the
//! heuristics; an origin-bound code, which the sender named exactly, is only ever dropped, never swapped.

use crate::{Alternative, Code, CodeKind, Extraction};

/// The shape of a code: its kind and length, as a user picks it ("the 8-digit one").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CodeShape {
    /// Digits only, or letters and digits.
    pub kind: CodeKind,
    /// Characters in the value (after separators and prefixes were removed).
    pub len: usize,
}

impl CodeShape {
    /// The shape of `value`: numeric when it is all ASCII digits.
    pub fn of(value: &str) -> CodeShape {
        CodeShape {
            kind: if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                CodeKind::Numeric
            } else {
                CodeKind::Alphanumeric
            },
            len: value.chars().count(),
        }
    }

    /// Whether `value` has this shape.
    pub fn matches(&self, value: &str) -> bool {
        CodeShape::of(value) == *self
    }

    /// "8 digits" or "6 letters and digits".
    pub fn describe(&self) -> String {
        match self.kind {
            CodeKind::Numeric => format!("{} digits", self.len),
            CodeKind::Alphanumeric => format!("{} letters and digits", self.len),
        }
    }
}

/// What a user said about a sender's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Correction {
    /// The sender never sends codes: none is extracted from its messages.
    NoCode,
    /// The sender's code has this shape: when the extracted code does not, a plausible alternative that does is
    /// taken instead (also when no code was extracted at all).
    Shape(CodeShape),
}

impl Extraction {
    /// This extraction after the user's `correction`. The code it replaces becomes the first alternative, so the
    /// user can still pick it.
    #[must_use]
    pub fn corrected(mut self, correction: &Correction) -> Extraction {
        match correction {
            Correction::NoCode => {
                if let Some(code) = self.code.take() {
                    self.demote(code);
                }
            }
            Correction::Shape(shape) => {
                let keep = self
                    .code
                    .as_ref()
                    .is_some_and(|c| c.origin.is_some() || shape.matches(&c.value));
                if keep {
                    return self;
                }
                let Some(i) = self
                    .alternatives
                    .iter()
                    .position(|a| shape.matches(&a.value))
                else {
                    return self;
                };
                let chosen = self.alternatives.remove(i);
                if let Some(code) = self.code.take() {
                    self.demote(code);
                }
                self.code = Some(Code {
                    value: chosen.value,
                    span: chosen.span,
                    confidence: chosen.confidence,
                    kind: chosen.kind,
                    origin: None,
                });
            }
        }
        self
    }

    fn demote(&mut self, code: Code) {
        self.alternatives.insert(
            0,
            Alternative {
                value: code.value,
                span: code.span,
                confidence: code.confidence,
                kind: code.kind,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse;

    #[test]
    fn shapes_describe_values() {
        assert_eq!(
            CodeShape::of("12345678"),
            CodeShape {
                kind: CodeKind::Numeric,
                len: 8
            }
        );
        assert_eq!(CodeShape::of("K7P2QX").kind, CodeKind::Alphanumeric);
        assert!(CodeShape::of("4821").matches("0042"));
        assert!(!CodeShape::of("4821").matches("00421"));
        assert_eq!(CodeShape::of("12345678").describe(), "8 digits");
    }

    #[test]
    fn the_shape_a_user_picked_wins_over_the_heuristics() {
        // Two codes, each with its code word: the heuristics prefer six digits.
        let text = "Security code: 55102288\nVerification code: 482913";
        let before = analyse(text);
        assert_eq!(before.code.as_ref().unwrap().value, "482913");
        assert_eq!(before.alternatives[0].value, "55102288");
        let eight = CodeShape::of("55102288");
        let after = before.clone().corrected(&Correction::Shape(eight));
        let code = after.code.as_ref().unwrap();
        assert_eq!(code.value, "55102288");
        assert_eq!(&text[code.span.clone()], "55102288");
        assert_eq!(after.alternatives[0].value, "482913");
        // A code that already has the shape stays.
        let six =
            analyse("Your code is 482913").corrected(&Correction::Shape(CodeShape::of("111111")));
        assert_eq!(six.code.unwrap().value, "482913");
        // No alternative of the shape: nothing changes.
        let none = analyse("Your code is 482913");
        assert_eq!(none.clone().corrected(&Correction::Shape(eight)), none);
    }

    #[test]
    fn no_code_drops_the_code_and_keeps_it_as_an_alternative() {
        let e = analyse("Your code is 482913").corrected(&Correction::NoCode);
        assert_eq!(e.code, None);
        assert_eq!(e.alternatives[0].value, "482913");
        let bound = analyse("Your code\n@example.com #482913").corrected(&Correction::NoCode);
        assert_eq!(bound.code, None);
    }

    #[test]
    fn an_origin_bound_code_is_never_swapped() {
        let text = "Use 55102288 or 482913\n@example.com #482913";
        let e = analyse(text).corrected(&Correction::Shape(CodeShape::of("55102288")));
        let code = e.code.unwrap();
        assert_eq!(code.value, "482913");
        assert!(code.origin.is_some());
    }
}
