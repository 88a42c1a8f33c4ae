//! The Modems screen's small charts: a modem's signal over the last 24 hours and its messages per day, drawn as
//! plain inline SVG from `GET /api/modems/{id}/health` (no chart library). Each chart is an image with a label
//! that says its numbers, for screen readers and as a tooltip.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use simrelay_protocol::{DayCount, ModemHistory, SignalSample};

use crate::api;
use crate::state::AppState;

/// Drawing size of a chart, in SVG user units (the CSS scales it to the card).
const WIDTH: f64 = 240.0;
const HEIGHT: f64 = 48.0;
/// The signal axis: the weakest and strongest level `AT+CSQ` can report.
const DBM_FLOOR: f64 = -113.0;
const DBM_TOP: f64 = -51.0;
/// Samples further apart than this are not joined: the modem was away or had nothing new to say.
const GAP_SECS: i64 = 30 * 60;
/// How long a fetched history is reused: a card is rebuilt on every status change, which must not cost a request.
const FRESH_MS: f64 = 60_000.0;

/// Histories fetched per modem id, with when; shared by the cards of one Modems screen.
#[derive(Clone, Copy)]
pub struct HealthCache(StoredValue<HashMap<String, (f64, ModemHistory)>>);

impl HealthCache {
    /// An empty cache; `provide_context` it once per screen.
    pub fn new() -> HealthCache {
        HealthCache(StoredValue::new(HashMap::new()))
    }
}

impl Default for HealthCache {
    fn default() -> Self {
        HealthCache::new()
    }
}

/// The charts of the modem `id`: fetched once a minute at most, a short note while loading or when they cannot
/// be had (a provider number, an engine without the endpoint).
#[component]
pub fn ModemHealthCharts(
    /// The modem's id.
    id: String,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let cache = use_context::<HealthCache>();
    let health = RwSignal::new(None::<ModemHistory>);
    let failed = RwSignal::new(false);
    let now = js_sys::Date::now();
    let cached = cache.and_then(|c| {
        c.0.with_value(|m| {
            m.get(&id)
                .filter(|(at, _)| now - at < FRESH_MS)
                .map(|(_, h)| h.clone())
        })
    });
    if let Some(h) = cached {
        health.set(Some(h));
    } else {
        leptos::task::spawn_local(async move {
            let endpoint = app.endpoint.get_value();
            // Days as the user counts them: minutes east of UTC.
            let offset = -(js_sys::Date::new_0().get_timezone_offset() as i32);
            match api::modem_health(&endpoint, &id, offset).await {
                Ok(h) => {
                    if let Some(c) = cache {
                        c.0.update_value(|m| {
                            m.insert(id.clone(), (js_sys::Date::now(), h.clone()));
                        });
                    }
                    health.try_set(Some(h));
                }
                Err(_) => {
                    failed.try_set(true);
                }
            }
        });
    }
    view! {
        <div class="health-charts">
            {move || match health.get() {
                Some(h) => view! {
                    <SignalChart since=h.since until=h.until samples=h.signal.clone() />
                    <MessagesChart days=h.messages_per_day.clone() />
                }
                .into_any(),
                None if failed.get() => view! { <p class="muted">"History unavailable."</p> }.into_any(),
                None => view! { <p class="muted">"Loading history\u{2026}"</p> }.into_any(),
            }}
        </div>
    }
}

/// What the signal chart says in words.
pub fn signal_summary(samples: &[SignalSample]) -> String {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return "Signal over the last 24 hours: no samples yet".into();
    };
    let low = samples.iter().map(|s| s.dbm).min().unwrap_or(first.dbm);
    let high = samples.iter().map(|s| s.dbm).max().unwrap_or(first.dbm);
    let count = samples.len();
    let noun = if count == 1 { "sample" } else { "samples" };
    format!(
        "Signal over the last 24 hours: {count} {noun}, from {low} to {high} dBm, latest {} dBm",
        last.dbm
    )
}

/// The samples as polylines (`points` attributes), broken where the modem was silent for long.
pub fn signal_lines(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    samples: &[SignalSample],
) -> Vec<String> {
    let span = (until - since).num_seconds().max(1) as f64;
    let x =
        |at: DateTime<Utc>| ((at - since).num_seconds() as f64 / span * WIDTH).clamp(0.0, WIDTH);
    let y = |dbm: i32| {
        let level = ((f64::from(dbm) - DBM_FLOOR) / (DBM_TOP - DBM_FLOOR)).clamp(0.0, 1.0);
        HEIGHT - 2.0 - level * (HEIGHT - 4.0)
    };
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut previous: Option<DateTime<Utc>> = None;
    for sample in samples {
        let joined = previous.is_some_and(|p| (sample.at - p).num_seconds() <= GAP_SECS);
        if !joined {
            lines.push(Vec::new());
        }
        if let Some(line) = lines.last_mut() {
            line.push(format!("{:.1},{:.1}", x(sample.at), y(sample.dbm)));
        }
        previous = Some(sample.at);
    }
    lines
        .into_iter()
        .map(|mut points| {
            // A lone sample is drawn as a short dash, so it shows.
            if points.len() == 1 {
                let point = points[0].clone();
                if let Some((px, py)) = point.split_once(',') {
                    let px: f64 = px.parse().unwrap_or(0.0);
                    points.push(format!("{:.1},{py}", (px + 2.0).min(WIDTH)));
                }
            }
            points.join(" ")
        })
        .collect()
}

/// The signal over the window, as a line on a -113…-51 dBm scale.
#[component]
pub fn SignalChart(
    /// Start of the window.
    since: DateTime<Utc>,
    /// End of the window (now).
    until: DateTime<Utc>,
    /// Samples, oldest first.
    samples: Vec<SignalSample>,
) -> impl IntoView {
    let label = signal_summary(&samples);
    let title = label.clone();
    let lines = signal_lines(since, until, &samples);
    view! {
        <figure class="chart chart-signal">
            <figcaption>"Signal, 24 h"</figcaption>
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=label
                preserveAspectRatio="none"
            >
                <title>{title}</title>
                <line class="chart-axis" x1="0" x2=WIDTH.to_string() y1=(HEIGHT - 1.0).to_string() y2=(HEIGHT - 1.0).to_string()></line>
                {lines
                    .into_iter()
                    .map(|points| view! { <polyline class="chart-line" points=points></polyline> })
                    .collect_view()}
            </svg>
        </figure>
    }
}

/// What the messages chart says in words.
pub fn messages_summary(days: &[DayCount]) -> String {
    let total: u64 = days.iter().map(|d| d.messages).sum();
    let each = days
        .iter()
        .map(|d| format!("{} {}", d.day.format("%a %-d %b"), d.messages))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "Messages per day, last {} days: {total} in all; {each}",
        days.len()
    )
}

/// Messages per day as bars, today last.
#[component]
pub fn MessagesChart(
    /// Days, oldest first.
    days: Vec<DayCount>,
) -> impl IntoView {
    let label = messages_summary(&days);
    let title = label.clone();
    let most = days.iter().map(|d| d.messages).max().unwrap_or(0).max(1) as f64;
    let slot = WIDTH / days.len().max(1) as f64;
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let height = (d.messages as f64 / most * (HEIGHT - 14.0)).max(if d.messages > 0 { 1.0 } else { 0.0 });
            let x = i as f64 * slot + slot * 0.15;
            let title = format!("{}: {}", d.day.format("%a %-d %b"), d.messages);
            view! {
                <g>
                    <title>{title}</title>
                    <rect
                        class="chart-bar"
                        x=format!("{x:.1}")
                        y=format!("{:.1}", HEIGHT - 12.0 - height)
                        width=format!("{:.1}", slot * 0.7)
                        height=format!("{height:.1}")
                    ></rect>
                    <text class="chart-day" x=format!("{:.1}", x + slot * 0.35) y=(HEIGHT - 2.0).to_string() text-anchor="middle">
                        {d.day.format("%a").to_string()}
                    </text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart chart-messages">
            <figcaption>"Messages per day"</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>
                <title>{title}</title>
                {bars}
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[wasm_bindgen_test]
    fn the_signal_is_said_in_words_and_broken_at_silences() {
        let since = at("2026-12-06T12:00:00Z");
        let until = at("2026-12-07T12:00:00Z");
        let samples = [
            SignalSample {
                at: at("2026-12-06T12:00:00Z"),
                dbm: -113,
            },
            SignalSample {
                at: at("2026-12-06T12:10:00Z"),
                dbm: -51,
            },
            // Two hours of silence: a new line.
            SignalSample {
                at: at("2026-12-06T14:10:00Z"),
                dbm: -81,
            },
        ];
        assert_eq!(
            signal_summary(&samples),
            "Signal over the last 24 hours: 3 samples, from -113 to -51 dBm, latest -81 dBm"
        );
        let lines = signal_lines(since, until, &samples);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "0.0,46.0 1.7,2.0");
        assert!(lines[1].starts_with("21.7,"), "{}", lines[1]);
        assert_eq!(lines[1].split(' ').count(), 2, "a lone sample still shows");
        assert_eq!(
            signal_summary(&[]),
            "Signal over the last 24 hours: no samples yet"
        );
    }

    #[wasm_bindgen_test]
    fn messages_are_said_per_day() {
        let days = [
            DayCount {
                day: "2026-12-06".parse().expect("day"),
                messages: 0,
            },
            DayCount {
                day: "2026-12-07".parse().expect("day"),
                messages: 3,
            },
        ];
        assert_eq!(
            messages_summary(&days),
            "Messages per day, last 2 days: 3 in all; Sun 6 Dec 0, Mon 7 Dec 3"
        );
    }
}
