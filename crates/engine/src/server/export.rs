//! `GET /api/export?format=jsonl|csv`: every message (or those matching the usual filters), oldest first,
//! streamed page by page so an export of a large history never sits in memory whole.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::{stream, StreamExt};
use simrelay_protocol::Message;

use super::api::filters;
use super::error::Failure;
use super::params::Params;
use super::AppState;
use crate::store::{MessageQuery, Order, Store};

/// Messages read from the store per chunk of the response.
const CHUNK: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jsonl,
    Csv,
}

/// `GET /api/export?format=jsonl|csv` plus the filters of `/api/messages` (except paging).
pub(crate) async fn export(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, Failure> {
    let params = Params::from_query(query)?;
    let format = match params.text("format")?.as_deref() {
        None | Some("jsonl") => Format::Jsonl,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(Failure::bad_request(format!(
                "format must be jsonl or csv, got {other:?}"
            )))
        }
    };
    let mut query = filters(&params)?;
    query.limit = CHUNK;
    query.order = Order::OldestFirst;
    let (content_type, file) = match format {
        Format::Jsonl => ("application/x-ndjson", "simrelay-messages.jsonl"),
        Format::Csv => ("text/csv; charset=utf-8", "simrelay-messages.csv"),
    };
    let header_chunk = (format == Format::Csv)
        .then(|| Ok::<_, std::io::Error>(Bytes::from_static(CSV_HEADER.as_bytes())));
    let body = stream::iter(header_chunk).chain(pages(state.store.clone(), query, format));
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The export body after the header: one chunk per page of the store, until a short page.
fn pages(
    store: Store,
    query: MessageQuery,
    format: Format,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    stream::unfold(Some(query), move |query| {
        let store = store.clone();
        async move {
            let mut query = query?;
            let found = match store.search(&query).await {
                Ok(found) => found,
                Err(e) => {
                    // The status line is already sent: ending the stream with an error aborts the transfer,
                    // so the client sees a broken download rather than a silently short file.
                    tracing::error!(error = %e, "export failed");
                    return Some((Err(std::io::Error::other(e.to_string())), None));
                }
            };
            if found.messages.is_empty() {
                return None;
            }
            let mut chunk = String::new();
            for message in &found.messages {
                match format {
                    Format::Jsonl => {
                        chunk.push_str(&serde_json::to_string(message).unwrap_or_default());
                        chunk.push('\n');
                    }
                    Format::Csv => csv_row(&mut chunk, message),
                }
            }
            let full = found.messages.len() == usize::try_from(query.limit).unwrap_or(usize::MAX);
            query.after = found.messages.last().map(|m| m.id);
            Some((Ok(Bytes::from(chunk)), full.then_some(query)))
        }
    })
}

const CSV_HEADER: &str =
    "id,modem,sender,sent_at,received_at,code,text,encoding,decode_error,incomplete\r\n";

/// One RFC 4180 row.
fn csv_row(out: &mut String, m: &Message) {
    let fields = [
        m.id.to_string(),
        m.modem.clone(),
        m.sender.clone(),
        m.sent_at.to_rfc3339(),
        m.received_at.to_rfc3339(),
        m.code.clone().unwrap_or_default(),
        m.text.clone(),
        m.encoding.clone().unwrap_or_default(),
        m.decode_error.clone().unwrap_or_default(),
        m.incomplete.to_string(),
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, field);
    }
    out.push_str("\r\n");
}

/// Quotes a field, and defuses spreadsheet formulas: SMS text and alphanumeric senders are chosen by
/// strangers, and a cell starting with `=` would run when the export is opened in a spreadsheet.
fn csv_field(out: &mut String, field: &str) {
    let phone_number = field.starts_with('+') && field[1..].chars().all(|c| c.is_ascii_digit());
    let formula = !phone_number && field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    out.push('"');
    if formula {
        out.push('\'');
    }
    out.push_str(&field.replace('"', "\"\""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> String {
        let mut out = String::new();
        csv_field(&mut out, s);
        out
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "\"plain\"");
        assert_eq!(
            field("a \"quote\", and\nnewline"),
            "\"a \"\"quote\"\", and\nnewline\""
        );
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+4915123456789"), "\"+4915123456789\"");
        assert_eq!(field("+1+1"), "\"'+1+1\"");
        assert_eq!(field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(field(""), "\"\"");
    }
}
