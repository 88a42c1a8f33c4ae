//! Parsing and bounding query parameters, with errors that say which parameter is wrong and why.
//!
//! Handlers take the raw query as strings and parse here, rather than through serde's extractor, so every
//! failure becomes a JSON `400` naming the parameter (and unknown parameters such as `token` are ignored).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use chrono::{DateTime, FixedOffset};

use super::error::Failure;

/// The raw query parameters of a request.
pub(crate) struct Params(HashMap<String, String>);

/// Longest accepted value of a free-text parameter (`q`, `sender`, ...), in characters.
const MAX_TEXT_PARAM: usize = 256;

impl Params {
    pub(crate) fn from_query(
        query: Result<Query<HashMap<String, String>>, QueryRejection>,
    ) -> Result<Params, Failure> {
        let Query(map) = query.map_err(|e| Failure::bad_request(e.body_text()))?;
        Ok(Params(map))
    }

    /// A free-text parameter; empty counts as absent.
    pub(crate) fn text(&self, name: &str) -> Result<Option<String>, Failure> {
        match self.0.get(name).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(value) if value.chars().count() > MAX_TEXT_PARAM => Err(Failure::bad_request(
                format!("{name} is longer than {MAX_TEXT_PARAM} characters"),
            )),
            Some(value) => Ok(Some(value.to_owned())),
        }
    }

    pub(crate) fn id(&self, name: &str) -> Result<Option<i64>, Failure> {
        self.parsed(name, "a message id (an integer)", |v| v.parse::<i64>().ok())
    }

    pub(crate) fn limit(&self, default: u32, max: u32) -> Result<u32, Failure> {
        let limit = self
            .parsed("limit", "an integer", |v| v.parse::<u32>().ok())?
            .unwrap_or(default);
        if (1..=max).contains(&limit) {
            Ok(limit)
        } else {
            Err(Failure::bad_request(format!(
                "limit must be between 1 and {max}, got {limit}"
            )))
        }
    }

    pub(crate) fn flag(&self, name: &str) -> Result<Option<bool>, Failure> {
        self.parsed(name, "true or false", |v| match v {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        })
    }

    pub(crate) fn time(&self, name: &str) -> Result<Option<DateTime<FixedOffset>>, Failure> {
        self.parsed(name, "an RFC 3339 time such as 2026-11-22T10:00:00Z", |v| {
            DateTime::parse_from_rfc3339(v).ok()
        })
    }

    /// A duration: `30s`, `500ms`, `2m`, or a bare number of seconds; at most `max`.
    pub(crate) fn duration(
        &self,
        name: &str,
        default: Duration,
        max: Duration,
    ) -> Result<Duration, Failure> {
        let value = self
            .parsed(name, "a duration such as 30s, 500ms or 2m", parse_duration)?
            .unwrap_or(default);
        if value > max {
            return Err(Failure::bad_request(format!(
                "{name} must be at most {}s",
                max.as_secs()
            )));
        }
        Ok(value)
    }

    fn parsed<T>(
        &self,
        name: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, Failure> {
        match self.0.get(name).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(value) => parse(value.trim()).map(Some).ok_or_else(|| {
                let shown: String = value.chars().take(40).collect();
                Failure::bad_request(format!("{name} must be {expected}, got {shown:?}"))
            }),
        }
    }
}

fn parse_duration(value: &str) -> Option<Duration> {
    let (number, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => value.split_at(i),
        None => (value, "s"),
    };
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn durations_parse_with_units_and_bounds() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        for bad in ["", "s", "1h", "-1s", "1.5s", "99999999999999999999s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        let max = Duration::from_secs(300);
        let p = params(&[("timeout", "301s")]);
        assert!(p.duration("timeout", Duration::from_secs(30), max).is_err());
        assert_eq!(
            params(&[])
                .duration("timeout", Duration::from_secs(30), max)
                .ok(),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let p = params(&[
            ("limit", "0"),
            ("has_code", "maybe"),
            ("since", "yesterday"),
            ("q", &"x".repeat(300)),
        ]);
        assert!(p.limit(50, 500).is_err());
        assert!(p.flag("has_code").is_err());
        assert!(p.time("since").is_err());
        assert!(p.text("q").is_err());
        assert_eq!(params(&[("q", "")]).text("q").ok(), Some(None));
    }
}
