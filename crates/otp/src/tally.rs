//! How an extractor scores against labelled messages, counted one way everywhere: the development corpus and
//! peer-suite tests, the sealed split and `cargo xtask otp-ablation` all report through [`Tally`], so their figures
//! can be compared.

/// Messages seen and the outcomes that decide precision and recall.
///
/// A wrong code counts twice, as a false positive (it would be copied) and a false negative (the right code was
/// missed): copying a wrong number is the worst outcome, so it is never scored as half a success.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Messages added.
    pub n: usize,
    /// The labelled code was found.
    pub tp: usize,
    /// A code was answered where the label has none, or a different one.
    pub fp: usize,
    /// The labelled code was not answered.
    pub fn_: usize,
}

impl Tally {
    /// Counts one message: its labelled code (`gold`) against what the extractor answered (`got`).
    pub fn add(&mut self, gold: Option<&str>, got: Option<&str>) {
        self.n += 1;
        match (gold, got) {
            (Some(g), Some(p)) if g == p => self.tp += 1,
            (Some(_), Some(_)) => {
                self.fp += 1;
                self.fn_ += 1;
            }
            (None, Some(_)) => self.fp += 1,
            (Some(_), None) => self.fn_ += 1,
            (None, None) => {}
        }
    }

    /// Of the codes answered, the share that were right (1 when nothing was answered).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Of the labelled codes, the share that were found (1 when there were none).
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// The harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// One aligned report line: `name n=… precision …% recall …% F1 …% (tp …, fp …, fn …)`.
    pub fn line(&self, name: &str) -> String {
        format!(
            "{name:<8} n={:<4} precision {:>6.2}%  recall {:>6.2}%  F1 {:>6.2}%  (tp {}, fp {}, fn {})",
            self.n,
            100.0 * self.precision(),
            100.0 * self.recall(),
            100.0 * self.f1(),
            self.tp,
            self.fp,
            self.fn_
        )
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_code_costs_precision_and_recall() {
        let mut t = Tally::default();
        t.add(Some("123456"), Some("123456"));
        t.add(Some("123456"), Some("654321"));
        t.add(None, None);
        t.add(Some("1111"), None);
        assert_eq!((t.n, t.tp, t.fp, t.fn_), (4, 1, 1, 2));
        assert!((t.precision() - 0.5).abs() < 1e-9);
        assert!((t.recall() - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn nothing_answered_is_perfect_precision() {
        let mut t = Tally::default();
        t.add(Some("1234"), None);
        assert_eq!(t.precision(), 1.0);
        assert_eq!(t.recall(), 0.0);
        assert_eq!(t.f1(), 0.0);
    }
}
