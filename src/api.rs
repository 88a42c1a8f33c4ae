//! Calls to the engine's HTTP API, with the access token attached.
//!
//! Every body, sent or received, is a `simrelay_protocol` type, the engine's own. Every failure is turned into an
//! [`ApiFailure`] whose `Display` is a sentence the UI can show as it is; an `ApiError` body from the server is
//! preferred over a bare status code because it says what to do.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use simrelay_protocol::{
    ApiError, Claimed, CodeChoice, CodeCorrection, Delivery, DeliveryPage, DeliveryStatus, Device,
    DeviceList, Health, Message, MessageDetail, MessagePage, ModemList, ModemStatus, Pairing,
    PairingCode, PortList, PortReport, SendAccepted, SentMessage, Settings, SettingsPatch,
};

use crate::endpoint::{percent_encode, Endpoint};

/// Why an API call did not give an answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiFailure {
    /// 401: the token is missing or wrong.
    #[error("Access refused: this browser has no valid access token. On the computer SimRelay runs on, open the address `simrelay serve` printed (`simrelay token show` prints the token); on another device, scan a new pairing code from SimRelay's Settings.")]
    Unauthorized,
    /// 403 `insufficient_scope`: this device's token may not do this; the server's detail names the scope.
    #[error("This device's access does not allow that: {0}")]
    InsufficientScope(String),
    /// 401 `bad_pairing_code`: the code from the QR code is unknown, used or expired.
    #[error("This pairing code was already used or has expired: make a new one in SimRelay's Settings, on the computer it runs on.")]
    BadPairingCode,
    /// 404 on an endpoint: the server is older than this UI.
    #[error("The server does not offer this yet (HTTP 404 for {0}).")]
    NotSupported(String),
    /// 403 `loopback_only`: only the computer SimRelay runs on may do this.
    #[error("Only the computer SimRelay runs on can change this.")]
    LoopbackOnly,
    /// 400 `invalid_setting`: a setting was refused; `field` names it when the server did.
    #[error("{detail}")]
    InvalidSetting {
        /// The setting the server named (`retention_days`, ...), if any.
        field: Option<String>,
        /// The server's explanation.
        detail: String,
    },
    /// 409 `not_shared`: the server is not shared on the LAN, so there is no pairing link.
    #[error("LAN sharing is off: turn it on to pair another device.")]
    NotShared,
    /// Any other error status, with the server's explanation.
    #[error("The server said: {0}")]
    Server(String),
    /// The request never got an answer.
    #[error("Cannot reach SimRelay: {0}")]
    Network(String),
    /// The answer was not the JSON we expected.
    #[error("Unexpected answer from the server: {0}")]
    Decode(String),
}

/// Query parameters for one page of stored messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    /// Page size.
    pub limit: usize,
    /// Only messages with an id smaller than this (keyset paging, newest first).
    pub before: Option<i64>,
    /// Full-text search.
    pub q: Option<String>,
    /// Only messages from this sender.
    pub sender: Option<String>,
    /// Only messages from this modem.
    pub modem: Option<String>,
    /// Only messages that carry a code.
    pub has_code: bool,
    /// Only messages received at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only messages received at or before this RFC 3339 time.
    pub until: Option<String>,
}

impl PageQuery {
    /// The path and query string for `GET /api/messages`.
    pub fn path(&self) -> String {
        let mut path = format!("/api/messages?limit={}", self.limit);
        if let Some(before) = self.before {
            path.push_str(&format!("&before={before}"));
        }
        for (key, value) in [
            ("q", &self.q),
            ("sender", &self.sender),
            ("modem", &self.modem),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                path.push_str(&format!("&{key}={}", percent_encode(v)));
            }
        }
        if self.has_code {
            path.push_str("&has_code=true");
        }
        path
    }
}

fn authorised(endpoint: &Endpoint, builder: RequestBuilder) -> RequestBuilder {
    match &endpoint.token {
        Some(token) => builder.header("Authorization", &format!("Bearer {token}")),
        None => builder,
    }
}

async fn check(path: &str, response: Response) -> Result<Response, ApiFailure> {
    match response.status() {
        200..=299 => Ok(response),
        401 => {
            let body = response.json::<ApiError>().await.ok();
            Err(match body {
                Some(e) if e.error == "bad_pairing_code" => ApiFailure::BadPairingCode,
                _ => ApiFailure::Unauthorized,
            })
        }
        404 => Err(ApiFailure::NotSupported(path.to_owned())),
        status => {
            let body = response.json::<ApiError>().await.ok();
            Err(failure_from(status, body))
        }
    }
}

/// Turns an error status and its body into the failure the UI explains.
pub fn failure_from(status: u16, body: Option<ApiError>) -> ApiFailure {
    let Some(e) = body else {
        return ApiFailure::Server(format!("HTTP {status}"));
    };
    match (status, e.error.as_str()) {
        (403, "loopback_only") => ApiFailure::LoopbackOnly,
        (403, "insufficient_scope") => ApiFailure::InsufficientScope(e.detail),
        (409, "not_shared") => ApiFailure::NotShared,
        (400, "invalid_setting") => {
            // The detail reads "<field>: <why>"; the field lets the form put the message next to the input.
            let field = e
                .detail
                .split_once(':')
                .map(|(f, _)| f.trim())
                .filter(|f| {
                    !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .map(str::to_owned);
            ApiFailure::InvalidSetting {
                field,
                detail: e.detail,
            }
        }
        _ if !e.detail.is_empty() => ApiFailure::Server(e.detail),
        _ => ApiFailure::Server(e.error),
    }
}

/// An HTTP method as gloo names it: `Request::get`, `Request::post`, ...
type Method = fn(&str) -> RequestBuilder;

/// `method path` with the endpoint's token and no body; an error status becomes its [`ApiFailure`].
async fn request(endpoint: &Endpoint, method: Method, path: &str) -> Result<Response, ApiFailure> {
    let response = authorised(endpoint, method(&endpoint.http_url(path)))
        .send()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))?;
    check(path, response).await
}

/// A successful answer's JSON body.
async fn json_body<T: DeserializeOwned>(response: Response) -> Result<T, ApiFailure> {
    response
        .json::<T>()
        .await
        .map_err(|e| ApiFailure::Decode(e.to_string()))
}

/// `method path` with `body` as JSON and the endpoint's token; answers the response's JSON.
async fn send_json<T: DeserializeOwned>(
    endpoint: &Endpoint,
    method: Method,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<T, ApiFailure> {
    let response = authorised(endpoint, method(&endpoint.http_url(path)))
        .json(body)
        .map_err(|e| ApiFailure::Decode(e.to_string()))?
        .send()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))?;
    json_body(check(path, response).await?).await
}

/// `GET path` with the endpoint's token; answers the response's JSON.
async fn get_json<T: DeserializeOwned>(endpoint: &Endpoint, path: &str) -> Result<T, ApiFailure> {
    json_body(request(endpoint, Request::get, path).await?).await
}

/// `GET /api/health`: the server's version; needs no token.
pub async fn health(endpoint: &Endpoint) -> Result<Health, ApiFailure> {
    get_json(endpoint, "/api/health").await
}

/// `GET /api/messages`: one page of stored messages, newest first. A server that does not page or highlight
/// yet answers a page without a cursor and highlights.
pub async fn messages(endpoint: &Endpoint, query: &PageQuery) -> Result<MessagePage, ApiFailure> {
    get_json(endpoint, &query.path()).await
}

/// `GET /api/messages/{id}`.
pub async fn message(endpoint: &Endpoint, id: i64) -> Result<MessageDetail, ApiFailure> {
    get_json(endpoint, &format!("/api/messages/{id}")).await
}

/// `DELETE path`, answered with no body.
async fn delete_path(endpoint: &Endpoint, path: &str) -> Result<(), ApiFailure> {
    request(endpoint, Request::delete, path).await.map(|_| ())
}

/// `PUT /api/messages/{id}/code`: the user's word on a message's code (another alternative, or none, optionally
/// remembered for the sender). Answers the message as it is now stored.
pub async fn choose_code(
    endpoint: &Endpoint,
    id: i64,
    choice: &CodeChoice,
) -> Result<Message, ApiFailure> {
    let path = format!("/api/messages/{id}/code");
    send_json(endpoint, Request::put, &path, choice).await
}

/// `GET /api/corrections`: what the user told SimRelay about senders' codes, newest first.
pub async fn corrections(endpoint: &Endpoint) -> Result<Vec<CodeCorrection>, ApiFailure> {
    get_json(endpoint, "/api/corrections").await
}

/// `DELETE /api/corrections/{sender}`.
pub async fn remove_correction(endpoint: &Endpoint, sender: &str) -> Result<(), ApiFailure> {
    delete_path(
        endpoint,
        &format!("/api/corrections/{}", percent_encode(sender)),
    )
    .await
}

/// `DELETE /api/messages/{id}`.
pub async fn delete(endpoint: &Endpoint, id: i64) -> Result<(), ApiFailure> {
    delete_path(endpoint, &format!("/api/messages/{id}")).await
}

/// The request bodies this UI sends, built here only, so that the contract test (`contract_tests.rs`) checks
/// exactly what goes out.
pub mod body {
    use simrelay_protocol::{
        AddModem, CodeChoice, PairClaim, PairingRequest, ProbeRequest, Scopes, SendRequest,
        SettingsPatch,
    };

    /// `PUT /api/messages/{id}/code`: this is the code (or, with `None`, there is none), remembered for the sender
    /// or not.
    pub fn code_choice(code: Option<&str>, remember: bool) -> CodeChoice {
        CodeChoice {
            code: code.map(str::to_owned),
            remember,
        }
    }

    /// `POST /api/modems/{id}/ussd`: a code such as `*100#`, or a menu's choice.
    pub fn ussd(code: &str) -> simrelay_protocol::UssdRequest {
        simrelay_protocol::UssdRequest {
            code: code.to_owned(),
        }
    }

    /// `POST /api/send`: to the first connected modem.
    pub fn send(to: &str, text: &str) -> SendRequest {
        SendRequest {
            to: to.to_owned(),
            text: text.to_owned(),
            modem: None,
        }
    }

    /// `POST /api/send` from a conversation: through the modem or source it came in on (`None`: the first
    /// connected one).
    pub fn reply(to: &str, text: &str, modem: Option<&str>) -> SendRequest {
        SendRequest {
            modem: modem.map(str::to_owned),
            ..send(to, text)
        }
    }

    /// `POST /api/conversations/{peer}/read`: everything received so far.
    pub fn mark_read() -> simrelay_protocol::MarkRead {
        simrelay_protocol::MarkRead::default()
    }

    /// `POST /api/modems` for a serial port.
    pub fn serial_modem(port: &str, label: Option<&str>) -> AddModem {
        AddModem {
            port: Some(port.to_owned()),
            label: label.map(str::to_owned),
            demo: false,
        }
    }

    /// `POST /api/modems` for the demo modem.
    pub fn demo_modem() -> AddModem {
        AddModem {
            demo: true,
            ..AddModem::default()
        }
    }

    /// `POST /api/ports/probe`.
    pub fn probe(port: &str) -> ProbeRequest {
        ProbeRequest {
            port: port.to_owned(),
        }
    }

    /// `POST /api/modems/{id}/pin`: the SIM PIN to try once.
    pub fn pin(pin: &str) -> simrelay_protocol::PinRequest {
        simrelay_protocol::PinRequest {
            pin: pin.to_owned(),
        }
    }

    /// `POST /api/pair`: a pairing code for a device called `name`, with the server's default scopes (read and
    /// send), or every scope when the owner ticked `admin`.
    pub fn pairing(name: &str, admin: bool) -> PairingRequest {
        PairingRequest {
            name: name.to_owned(),
            scopes: admin.then_some(Scopes::ALL),
        }
    }

    /// `POST /api/pair/claim`: the code a pairing link carried.
    pub fn claim(code: &str) -> PairClaim {
        PairClaim {
            code: code.to_owned(),
        }
    }

    /// `PATCH /api/settings` switching LAN sharing.
    pub fn lan(on: bool) -> SettingsPatch {
        SettingsPatch {
            lan: Some(on),
            ..SettingsPatch::default()
        }
    }
}

/// `POST /api/send`: queues an SMS to `to` through `modem` (`None`: the first connected one); the answer is its
/// id and first status. Screens send through
/// [`crate::state::AppState::send`], which also tracks its progress.
pub async fn send(
    endpoint: &Endpoint,
    to: &str,
    text: &str,
    modem: Option<&str>,
) -> Result<SendAccepted, ApiFailure> {
    let path = "/api/send";
    send_json(endpoint, Request::post, path, &body::reply(to, text, modem)).await
}

/// `GET /api/conversations`: one page of correspondents, most recent first.
pub async fn conversations(
    endpoint: &Endpoint,
    before: Option<&str>,
) -> Result<simrelay_protocol::ConversationPage, ApiFailure> {
    let mut path = "/api/conversations?limit=50".to_owned();
    if let Some(before) = before {
        path.push_str(&format!("&before={}", percent_encode(before)));
    }
    get_json(endpoint, &path).await
}

/// The path of one thread (`/api/conversations/{peer}`), the peer percent-encoded.
pub fn thread_path(peer: &str) -> String {
    format!("/api/conversations/{}", percent_encode(peer))
}

/// `GET /api/conversations/{peer}`: one page of a thread, newest first; `q` searches within it.
pub async fn thread(
    endpoint: &Endpoint,
    peer: &str,
    q: Option<&str>,
    before: Option<&str>,
) -> Result<simrelay_protocol::ThreadPage, ApiFailure> {
    let mut path = format!("{}?limit=50", thread_path(peer));
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        path.push_str(&format!("&q={}", percent_encode(q)));
    }
    if let Some(before) = before {
        path.push_str(&format!("&before={}", percent_encode(before)));
    }
    get_json(endpoint, &path).await
}

/// `POST /api/conversations/{peer}/read`: everything received from `peer` so far counts as read.
pub async fn mark_read(
    endpoint: &Endpoint,
    peer: &str,
) -> Result<simrelay_protocol::ReadState, ApiFailure> {
    let path = format!("{}/read", thread_path(peer));
    send_json(endpoint, Request::post, &path, &body::mark_read()).await
}

/// `GET /api/sent/{id}`.
pub async fn sent(endpoint: &Endpoint, id: i64) -> Result<SentMessage, ApiFailure> {
    get_json(endpoint, &format!("/api/sent/{id}")).await
}

/// `GET /api/settings`.
pub async fn settings(endpoint: &Endpoint) -> Result<Settings, ApiFailure> {
    get_json(endpoint, "/api/settings").await
}

/// `PATCH /api/settings` with the fields to change; the answer is the whole new settings.
pub async fn patch_settings(
    endpoint: &Endpoint,
    changes: &SettingsPatch,
) -> Result<Settings, ApiFailure> {
    let path = "/api/settings";
    send_json(endpoint, Request::patch, path, changes).await
}

/// `GET /api/devices`: the paired devices.
pub async fn devices(endpoint: &Endpoint) -> Result<Vec<Device>, ApiFailure> {
    get_json::<DeviceList>(endpoint, "/api/devices")
        .await
        .map(|l| l.devices)
}

/// `POST /api/pair {"name", "scopes"?}`: a one-time pairing code (with links and QR codes) for a new device.
pub async fn start_pairing(
    endpoint: &Endpoint,
    name: &str,
    admin: bool,
) -> Result<PairingCode, ApiFailure> {
    let path = "/api/pair";
    send_json(endpoint, Request::post, path, &body::pairing(name, admin)).await
}

/// `POST /api/pair/claim {"code"}`: this device's own token for the code its pairing link carried (no token yet).
pub async fn claim(endpoint: &Endpoint, code: &str) -> Result<Claimed, ApiFailure> {
    let path = "/api/pair/claim";
    send_json(endpoint, Request::post, path, &body::claim(code)).await
}

/// `POST /api/logout`: the server expires this browser's token cookie.
pub async fn logout(endpoint: &Endpoint) -> Result<(), ApiFailure> {
    let path = "/api/logout";
    let response = Request::post(&endpoint.http_url(path))
        .send()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))?;
    check(path, response).await.map(|_| ())
}

/// `DELETE /api/devices/{id}`: revokes a device's token.
pub async fn revoke_device(endpoint: &Endpoint, id: &str) -> Result<(), ApiFailure> {
    delete_path(endpoint, &format!("/api/devices/{}", percent_encode(id))).await
}

/// `GET /api/pair`: where other devices reach the server, and its certificate's fingerprint.
pub async fn pair(endpoint: &Endpoint) -> Result<Pairing, ApiFailure> {
    get_json(endpoint, "/api/pair").await
}

/// `GET /api/deliveries`: one page of the outbox's delivery log, newest first (`status` filters).
pub async fn deliveries(
    endpoint: &Endpoint,
    status: Option<DeliveryStatus>,
    before: Option<i64>,
    limit: u32,
) -> Result<DeliveryPage, ApiFailure> {
    let mut path = format!("/api/deliveries?limit={limit}");
    if let Some(status) = status {
        path.push_str(&format!("&status={}", status.as_str()));
    }
    if let Some(before) = before {
        path.push_str(&format!("&before={before}"));
    }
    get_json(endpoint, &path).await
}

/// `POST /api/deliveries/{id}/replay`: sends a delivery again (same event id); answers the delivery.
pub async fn replay_delivery(endpoint: &Endpoint, id: i64) -> Result<Delivery, ApiFailure> {
    let path = format!("/api/deliveries/{id}/replay");
    json_body(request(endpoint, Request::post, &path).await?).await
}

/// `GET /api/export?format=csv|jsonl&<filters>`: the whole matching history as one file's bytes.
pub async fn export(
    endpoint: &Endpoint,
    query: &PageQuery,
    format: &str,
) -> Result<Vec<u8>, ApiFailure> {
    let filters = query.path();
    let filters = filters.split_once('?').map_or("", |(_, q)| q);
    let path = format!("/api/export?format={format}&{filters}");
    request(endpoint, Request::get, &path)
        .await?
        .binary()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))
}

/// Every serial port the server's OS lists: `GET /api/ports` (listed only, fast), or with `probe` `POST
/// /api/ports`, each free one probed (a few seconds; probing writes to devices, so it is never a GET).
pub async fn ports(endpoint: &Endpoint, probe: bool) -> Result<Vec<PortReport>, ApiFailure> {
    let path = "/api/ports";
    if !probe {
        return get_json::<PortList>(endpoint, path).await.map(|l| l.ports);
    }
    json_body::<PortList>(request(endpoint, Request::post, path).await?)
        .await
        .map(|l| l.ports)
}

/// `POST /api/ports/probe {"port"}`: probes one port.
pub async fn probe_port(endpoint: &Endpoint, port: &str) -> Result<PortReport, ApiFailure> {
    let path = "/api/ports/probe";
    send_json(endpoint, Request::post, path, &body::probe(port)).await
}

/// `GET /api/modems`: every modem's status.
pub async fn modems(endpoint: &Endpoint) -> Result<Vec<ModemStatus>, ApiFailure> {
    get_json::<ModemList>(endpoint, "/api/modems")
        .await
        .map(|l| l.modems)
}

/// `GET /api/modems/{id}/health?utc_offset=`: the modem's signal over 24 hours and messages per day, days
/// counted `utc_offset` minutes east of UTC.
pub async fn modem_health(
    endpoint: &Endpoint,
    id: &str,
    utc_offset: i32,
) -> Result<simrelay_protocol::ModemHistory, ApiFailure> {
    let path = format!(
        "/api/modems/{}/health?utc_offset={utc_offset}",
        percent_encode(id)
    );
    get_json(endpoint, &path).await
}

/// `POST /api/modems {"port", "label"?}`: adds and starts the modem on `port`.
pub async fn add_modem(
    endpoint: &Endpoint,
    port: &str,
    label: Option<&str>,
) -> Result<ModemStatus, ApiFailure> {
    let path = "/api/modems";
    send_json(
        endpoint,
        Request::post,
        path,
        &body::serial_modem(port, label),
    )
    .await
}

/// `POST /api/modems {"demo": true}`: starts the demo modem.
pub async fn start_demo_modem(endpoint: &Endpoint) -> Result<ModemStatus, ApiFailure> {
    let path = "/api/modems";
    send_json(endpoint, Request::post, path, &body::demo_modem()).await
}

/// `DELETE /api/modems/{id}`: stops and forgets a modem.
pub async fn remove_modem(endpoint: &Endpoint, id: &str) -> Result<(), ApiFailure> {
    delete_path(endpoint, &format!("/api/modems/{}", percent_encode(id))).await
}

/// `POST /api/modems/{id}/pin {"pin"}`: tries the SIM PIN once; the answer is the modem's status. A rejected
/// PIN's failure says how many tries are left.
pub async fn enter_pin(
    endpoint: &Endpoint,
    id: &str,
    pin: &str,
) -> Result<ModemStatus, ApiFailure> {
    let path = format!("/api/modems/{}/pin", percent_encode(id));
    send_json(endpoint, Request::post, &path, &body::pin(pin)).await
}

/// `POST /api/modems/{id}/ussd {"code"}`: sends a USSD code and answers the network's reply (up to 30 s).
pub async fn ussd(
    endpoint: &Endpoint,
    id: &str,
    code: &str,
) -> Result<simrelay_protocol::UssdReply, ApiFailure> {
    let path = format!("/api/modems/{}/ussd", percent_encode(id));
    send_json(endpoint, Request::post, &path, &body::ussd(code)).await
}

/// The path of `GET /api/calls`: `modem`'s calls (`None`: every modem's), newest first, older than `before`.
pub fn calls_path(modem: Option<&str>, limit: u32, before: Option<i64>) -> String {
    let mut path = format!("/api/calls?limit={limit}");
    if let Some(modem) = modem.map(str::trim).filter(|m| !m.is_empty()) {
        path.push_str(&format!("&modem={}", percent_encode(modem)));
    }
    if let Some(before) = before {
        path.push_str(&format!("&before={before}"));
    }
    path
}

/// `GET /api/calls?modem=&limit=&before=`: calls, newest first (see [`calls_path`]).
pub async fn calls(
    endpoint: &Endpoint,
    modem: Option<&str>,
    limit: u32,
    before: Option<i64>,
) -> Result<simrelay_protocol::CallPage, ApiFailure> {
    get_json(endpoint, &calls_path(modem, limit, before)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_path_pages_and_filters() {
        assert_eq!(calls_path(None, 100, None), "/api/calls?limit=100");
        assert_eq!(calls_path(Some(" "), 5, None), "/api/calls?limit=5");
        assert_eq!(
            calls_path(Some("imei:1 2"), 100, Some(41)),
            "/api/calls?limit=100&modem=imei%3A1%202&before=41"
        );
    }

    #[test]
    fn page_query_path() {
        let mut q = PageQuery {
            limit: 50,
            ..Default::default()
        };
        assert_eq!(q.path(), "/api/messages?limit=50");
        q.before = Some(120);
        q.q = Some(" bank & co ".into());
        q.sender = Some("   ".into());
        q.has_code = true;
        assert_eq!(
            q.path(),
            "/api/messages?limit=50&before=120&q=bank%20%26%20co&has_code=true"
        );
        q.since = Some("2026-11-01T00:00:00+01:00".into());
        assert!(q
            .path()
            .contains("&since=2026-11-01T00%3A00%3A00%2B01%3A00&"));
    }

    #[test]
    fn error_bodies_become_specific_failures() {
        let body = |error: &str, detail: &str| {
            Some(ApiError {
                error: error.into(),
                detail: detail.into(),
            })
        };
        assert_eq!(
            failure_from(403, body("loopback_only", "x")),
            ApiFailure::LoopbackOnly
        );
        assert_eq!(
            failure_from(409, body("not_shared", "")),
            ApiFailure::NotShared
        );
        assert_eq!(
            failure_from(403, body("insufficient_scope", "needs the admin scope")),
            ApiFailure::InsufficientScope("needs the admin scope".into())
        );
        assert_eq!(
            failure_from(
                400,
                body("invalid_setting", "retention_days: must be at least 1")
            ),
            ApiFailure::InvalidSetting {
                field: Some("retention_days".into()),
                detail: "retention_days: must be at least 1".into()
            }
        );
        assert!(matches!(
            failure_from(400, body("invalid_setting", "a sentence: no field")),
            ApiFailure::InvalidSetting { field: None, .. }
        ));
        assert_eq!(
            failure_from(500, None),
            ApiFailure::Server("HTTP 500".into())
        );
    }

    #[test]
    fn failures_read_as_sentences() {
        assert!(ApiFailure::Unauthorized
            .to_string()
            .contains("simrelay token show"));
        assert!(ApiFailure::NotSupported("/api/x".into())
            .to_string()
            .contains("/api/x"));
    }
}
