//! Provider sources: SMS numbers rented from a provider (Twilio, Vonage), beside the modems.
//!
//! A source is configured under `[[sources]]` and behaves as a "modem" of its kind everywhere else: its
//! messages are stored under its name in `modem`, go through code extraction, the hub (live feed, hooks,
//! notifications) and every filter, its status is listed with the modems, and `POST /api/send` with its name
//! sends through the provider's REST API. The difference is the path in: the provider calls a webhook,
//! `POST /sources/<name>/inbound` (delivery news: `/sources/<name>/status`), authenticated by the provider's
//! signature instead of a token ([`twilio`], [`vonage`], [`jwt`]). A request whose signature does not verify
//! is refused before anything is read from it.
//!
//! The same order as a modem's path keeps it safe: verify, extract, **commit**, publish, and only then answer
//! the provider, so a provider that gets no `2xx` (SimRelay was stopping, the disk failed) retries, and the
//! store's dedup key (the provider's message id) makes a retry that did get through harmless. Vonage's SMS API
//! delivers a long message as parts; they are kept in the store as they arrive (like a modem's parts) and
//! joined when the last one comes, or delivered flagged incomplete after [`crate::MULTIPART_TIMEOUT`].

pub(crate) mod jwt;
pub(crate) mod twilio;
pub(crate) mod vonage;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use simrelay_protocol::{ModemState, ModemStatus};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use simrelay_protocol::SourceKind;

use crate::hub::{publish_stored_sent, Hub};
use crate::store::{Inserted, NewMessage, PartInserted, PartKey, SendStatus, Store, StoreError};
use vonage::SignatureMethod;

pub(crate) use crate::store::PartStatus as PartUpdate;

/// How far a Vonage SMS API webhook's signed `timestamp` may be from now, by default.
const DEFAULT_WINDOW_SECS: u64 = 300;
/// Clock difference tolerated for a timestamp from the future.
const CLOCK_SKEW_SECS: i64 = 60;
/// A provider REST call that takes longer has failed.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(30);

/// One `[[sources]]` entry of the configuration file: a provider number SimRelay receives from (and sends
/// through). Which keys apply depends on `kind`; [`SourceConfig::check`] says which are missing or misplaced.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Its name: the `modem` of its messages, and the `<name>` in its webhook URLs. Letters, digits, `.`, `_`,
    /// `-`; at most 64.
    pub name: String,
    /// The provider.
    pub kind: SourceKind,
    /// A name for people, shown as the modem's `label`.
    #[serde(default)]
    pub label: Option<String>,
    /// The provider number (`+15555550100`): the sender of what goes out through it. Without it (and, for
    /// Twilio, without `messaging_service_sid`) the source only receives.
    #[serde(default)]
    pub number: Option<String>,
    /// The address the provider reaches SimRelay at (`https://sms.example.com`, or with a path prefix the
    /// reverse proxy strips). Twilio signs the URL it calls, so behind a proxy this is needed to check its
    /// signatures; it is also where status callbacks are sent. Default: what the request's `Host` says.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The provider's REST API (default: the provider's own). Tests point it at a local receiver.
    #[serde(default)]
    pub api_url: Option<String>,
    /// Twilio: the account SID (`AC...`), needed to send.
    #[serde(default)]
    pub account_sid: Option<String>,
    /// Twilio: the auth token, which signs the webhooks (required) and authenticates sending.
    #[serde(default)]
    pub auth_token: Option<String>,
    /// Twilio: send through this messaging service instead of from `number`.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Vonage: the API key, needed to send; webhooks naming another key are refused.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Vonage: the API secret, needed to send.
    #[serde(default)]
    pub api_secret: Option<String>,
    /// Vonage: the signature secret, which signs the webhooks (required).
    #[serde(default)]
    pub signature_secret: Option<String>,
    /// Vonage: the dashboard's signature method for SMS API webhooks: `md5hash` (Vonage's default), `md5`,
    /// `sha1`, `sha256` or `sha512` (the HMACs; prefer `sha256`). Messages API callbacks always use HS256.
    #[serde(default)]
    pub signature_method: Option<String>,
    /// Vonage: how far (seconds) a webhook's signed `timestamp` may be from now; default 300.
    #[serde(default)]
    pub signature_window_secs: Option<u64>,
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("SourceConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("label", &self.label)
            .field("number", &self.number)
            .field("public_url", &self.public_url)
            .field("api_url", &self.api_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &secret(&self.auth_token))
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("api_key", &self.api_key)
            .field("api_secret", &secret(&self.api_secret))
            .field("signature_secret", &secret(&self.signature_secret))
            .field("signature_method", &self.signature_method)
            .field("signature_window_secs", &self.signature_window_secs)
            .finish()
    }
}

/// A mistake in a `[[sources]]` entry: the key, and what it should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} {expected}")]
pub struct SourceConfigError {
    /// The key (`name`, `auth_token`, ...).
    pub key: &'static str,
    /// What it should be.
    pub expected: &'static str,
}

fn config_error(key: &'static str, expected: &'static str) -> SourceConfigError {
    SourceConfigError { key, expected }
}

fn is_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(['?', '#', ' '])
        && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty())
}

impl SourceConfig {
    /// A source of `kind` named `name` with no other key set.
    pub fn new(name: &str, kind: SourceKind) -> SourceConfig {
        SourceConfig {
            name: name.to_owned(),
            kind,
            label: None,
            number: None,
            public_url: None,
            api_url: None,
            account_sid: None,
            auth_token: None,
            messaging_service_sid: None,
            api_key: None,
            api_secret: None,
            signature_secret: None,
            signature_method: None,
            signature_window_secs: None,
        }
    }

    /// Checks one entry on its own (names are checked against each other by [`check_all`]).
    pub fn check(&self) -> Result<(), SourceConfigError> {
        let name_ok = (1..=64).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && !self.name.starts_with('.');
        if !name_ok {
            return Err(config_error(
                "name",
                "must be 1 to 64 letters, digits, '.', '_' or '-' (it becomes part of the webhook URL)",
            ));
        }
        if self.name == crate::DEMO_MODEM_ID {
            return Err(config_error(
                "name",
                "must not be \"demo\", the demo modem's id",
            ));
        }
        if let Some(number) = &self.number {
            if number.trim().is_empty()
                || number.chars().count() > 20
                || number.chars().any(char::is_control)
            {
                return Err(config_error(
                    "number",
                    "must be the provider number, such as \"+15555550100\" (at most 20 characters)",
                ));
            }
        }
        if self.public_url.as_deref().is_some_and(|u| !is_url(u)) {
            return Err(config_error(
                "public_url",
                "must be an http:// or https:// address without query, such as \"https://sms.example.com\"",
            ));
        }
        if self.api_url.as_deref().is_some_and(|u| !is_url(u)) {
            return Err(config_error(
                "api_url",
                "must be an http:// or https:// address",
            ));
        }
        let vonage_keys = [
            ("api_key", self.api_key.is_some()),
            ("api_secret", self.api_secret.is_some()),
            ("signature_secret", self.signature_secret.is_some()),
            ("signature_method", self.signature_method.is_some()),
            (
                "signature_window_secs",
                self.signature_window_secs.is_some(),
            ),
        ];
        let twilio_keys = [
            ("account_sid", self.account_sid.is_some()),
            ("auth_token", self.auth_token.is_some()),
            (
                "messaging_service_sid",
                self.messaging_service_sid.is_some(),
            ),
        ];
        match self.kind {
            SourceKind::Twilio => {
                if let Some((key, _)) = vonage_keys.iter().find(|(_, set)| *set) {
                    return Err(config_error(
                        key,
                        "is a Vonage key; a twilio source takes account_sid, auth_token and messaging_service_sid",
                    ));
                }
                if self.auth_token.as_deref().is_none_or(str::is_empty) {
                    return Err(config_error(
                        "auth_token",
                        "is required for a twilio source: Twilio signs its webhooks with it (Console, Account Info)",
                    ));
                }
            }
            SourceKind::Vonage => {
                if let Some((key, _)) = twilio_keys.iter().find(|(_, set)| *set) {
                    return Err(config_error(
                        key,
                        "is a Twilio key; a vonage source takes api_key, api_secret, signature_secret and signature_method",
                    ));
                }
                if self.signature_secret.as_deref().is_none_or(str::is_empty) {
                    return Err(config_error(
                        "signature_secret",
                        "is required for a vonage source: Vonage signs its webhooks with it (Dashboard, API settings)",
                    ));
                }
                if self
                    .signature_method
                    .as_deref()
                    .is_some_and(|m| m.parse::<SignatureMethod>().is_err())
                {
                    return Err(config_error(
                        "signature_method",
                        "must be md5hash, md5, sha1, sha256 or sha512, as chosen in Vonage's dashboard",
                    ));
                }
                if self.signature_window_secs == Some(0) {
                    return Err(config_error("signature_window_secs", "must be at least 1"));
                }
            }
        }
        Ok(())
    }

    fn method(&self) -> SignatureMethod {
        self.signature_method
            .as_deref()
            .and_then(|m| m.parse().ok())
            .unwrap_or(SignatureMethod::Md5Hash)
    }

    /// Why this source cannot send, for the user; `None` when it can.
    fn send_problem(&self) -> Option<&'static str> {
        match self.kind {
            SourceKind::Twilio if self.account_sid.is_none() => Some("account_sid"),
            SourceKind::Twilio if self.number.is_none() && self.messaging_service_sid.is_none() => {
                Some("number (or messaging_service_sid)")
            }
            SourceKind::Vonage if self.api_key.is_none() => Some("api_key"),
            SourceKind::Vonage if self.api_secret.is_none() => Some("api_secret"),
            SourceKind::Vonage if self.number.is_none() => Some("number"),
            _ => None,
        }
    }

    /// The URL of one of this source's webhooks as the provider calls it, when `public_url` is set.
    fn public(&self, hook: &str) -> Option<String> {
        self.public_url.as_deref().map(|base| {
            format!(
                "{}/sources/{}/{hook}",
                base.trim_end_matches('/'),
                self.name
            )
        })
    }
}

/// Checks every entry, and that no two share a name. `Err` has the index of the entry at fault.
pub fn check_all(sources: &[SourceConfig]) -> Result<(), (usize, SourceConfigError)> {
    for (i, source) in sources.iter().enumerate() {
        source.check().map_err(|e| (i, e))?;
        if sources[..i].iter().any(|s| s.name == source.name) {
            return Err((i, config_error("name", "must be unique among the sources")));
        }
    }
    Ok(())
}

/// Why sending through a source failed, for the user (it becomes the sent message's `error`).
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum SendError {
    /// A key needed to send is missing.
    #[error("this source cannot send: set {0} in its [[sources]] entry")]
    NotConfigured(String),
    /// The provider could not be reached.
    #[error("cannot reach {provider}: {detail}; check the network (and api_url, if set)")]
    Unreachable {
        provider: &'static str,
        detail: String,
    },
    /// The provider refused the credentials.
    #[error(
        "{provider} refused the credentials ({detail}); check {keys} in the [[sources]] entry"
    )]
    Credentials {
        provider: &'static str,
        detail: String,
        keys: &'static str,
    },
    /// The provider refused the message.
    #[error("{provider} refused the message: {detail}")]
    Refused {
        provider: &'static str,
        detail: String,
    },
}

/// Sends a provider's API request and reads its answer: the status and the JSON body (`null` when the body is
/// not JSON, so that an error page still tells its status). A request that got no answer is `Unreachable`.
pub(crate) async fn provider_answer(
    request: reqwest::RequestBuilder,
    provider: &'static str,
) -> Result<(reqwest::StatusCode, serde_json::Value), SendError> {
    let response = request.send().await.map_err(|e| SendError::Unreachable {
        provider,
        detail: e.without_url().to_string(),
    })?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or_default()))
}

/// A webhook request, as the HTTP layer saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Webhook<'a> {
    /// `GET` or `POST`.
    pub(crate) method: &'a str,
    /// The path and query SimRelay was asked for.
    pub(crate) path_and_query: &'a str,
    /// The query string alone, if any.
    pub(crate) query: Option<&'a str>,
    /// The `Host` header.
    pub(crate) host: Option<&'a str>,
    /// Whether SimRelay serves TLS itself (for the URL Twilio signed, without `public_url`).
    pub(crate) https: bool,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) twilio_signature: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// What a verified webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A new message was committed (and published).
    Stored,
    /// A part of a long message was kept, waiting for the others.
    Waiting,
    /// Already stored: a provider's retry.
    Duplicate,
    /// A delivery status was recorded.
    Status,
    /// Genuine, but nothing to keep.
    Ignored,
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebhookError {
    /// The signature is missing or wrong (or too old): `403`, nothing is read or stored.
    #[error("{0}")]
    Forbidden(String),
    /// Genuine but not understood: `400`.
    #[error("{0}")]
    BadRequest(String),
    /// The store failed: `500`, so the provider retries.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The running sources, by name; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Sources {
    by_name: Arc<BTreeMap<String, Arc<Source>>>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_name.keys()).finish()
    }
}

impl Sources {
    /// Starts every configured source: lists it with the modems, reloads the parts of long messages that were
    /// waiting, and watches their timeout. The tasks stop with `shutdown`.
    pub(crate) async fn start(
        configs: &[SourceConfig],
        store: Store,
        hub: Hub,
        shutdown: CancellationToken,
    ) -> (Sources, Vec<JoinHandle<()>>) {
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .unwrap_or_default();
        let mut by_name = BTreeMap::new();
        let mut tasks = Vec::new();
        for config in configs {
            let source = Arc::new(Source {
                config: config.clone(),
                store: store.clone(),
                hub: hub.clone(),
                http: http.clone(),
                parts: tokio::sync::Mutex::new(Parts::default()),
                parts_changed: Notify::new(),
                last_error: Mutex::new(None),
            });
            source.publish_status();
            if config.kind == SourceKind::Vonage {
                if let Err(e) = source.recover_parts().await {
                    tracing::error!(source = %config.name, error = %e, "cannot reload the waiting parts of long messages");
                }
                tasks.push(tokio::spawn(expire_parts(source.clone(), shutdown.clone())));
            }
            tracing::info!(source = %config.name, kind = config.kind.as_str(), "provider source ready");
            by_name.insert(config.name.clone(), source);
        }
        (
            Sources {
                by_name: Arc::new(by_name),
            },
            tasks,
        )
    }

    /// The source called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<Source>> {
        self.by_name.get(name).cloned()
    }

    /// Whether any source is configured (the `/sources/*` routes exist only then).
    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The first source that can send, for `POST /api/send` without a modem when there is no modem.
    pub(crate) fn first_sender(&self) -> Option<Arc<Source>> {
        self.by_name
            .values()
            .find(|s| s.config.send_problem().is_none())
            .cloned()
    }
}

/// One running source.
pub(crate) struct Source {
    config: SourceConfig,
    store: Store,
    hub: Hub,
    http: reqwest::Client,
    /// Parts of long messages waiting for their siblings (Vonage SMS API), by (sender, reference, total).
    parts: tokio::sync::Mutex<Parts>,
    /// Wakes the timeout task when a set starts waiting.
    parts_changed: Notify,
    /// What went wrong last (a forged or misaddressed webhook, refused credentials), shown in its status.
    last_error: Mutex<Option<String>>,
}

impl Source {
    /// Its provider.
    pub(crate) fn kind(&self) -> SourceKind {
        self.config.kind
    }

    fn status(&self) -> ModemStatus {
        let kind = self.config.kind;
        let port = format!(
            "{}:{}",
            kind.as_str(),
            self.config.number.as_deref().unwrap_or("-")
        );
        ModemStatus {
            operator: Some(kind.display_name().to_owned()),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            label: self.config.label.clone(),
            source: Some(kind),
            ..ModemStatus::new(self.config.name.clone(), port, ModemState::Connected)
        }
    }

    fn publish_status(&self) {
        self.hub.publish_modem(self.status());
    }

    /// Records what went wrong last (or that all is well again), publishing the status when it changes.
    fn note_error(&self, error: Option<String>) {
        let changed = {
            let mut last = self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let changed = *last != error;
            *last = error;
            changed
        };
        if changed {
            self.publish_status();
        }
    }

    /// Verifies and handles one webhook request.
    pub(crate) async fn webhook(
        &self,
        request: &Webhook<'_>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WebhookError> {
        let result = match self.config.kind {
            SourceKind::Twilio => self.twilio(request).await,
            SourceKind::Vonage => self.vonage(request, now).await,
        };
        match &result {
            Err(WebhookError::Forbidden(why)) => {
                tracing::warn!(source = %self.config.name, %why, "refused a webhook");
                self.note_error(Some(format!("the last webhook was refused: {why}")));
            }
            Ok(_) => self.note_error(None),
            Err(_) => {}
        }
        result
    }

    /// The URL Twilio called, as it signed it.
    fn signed_url(&self, request: &Webhook<'_>) -> String {
        match &self.config.public_url {
            Some(base) => format!("{}{}", base.trim_end_matches('/'), request.path_and_query),
            None => format!(
                "{}://{}{}",
                if request.https { "https" } else { "http" },
                request.host.unwrap_or(""),
                request.path_and_query
            ),
        }
    }

    async fn twilio(&self, request: &Webhook<'_>) -> Result<Outcome, WebhookError> {
        let token = self.config.auth_token.as_deref().unwrap_or_default();
        let header = request.twilio_signature.ok_or_else(|| {
            WebhookError::Forbidden(
                "no X-Twilio-Signature header: this request is not from Twilio".into(),
            )
        })?;
        let url = self.signed_url(request);
        let body_hash = twilio::body_hash_matches(request.query, request.body);
        let params = match body_hash {
            Some(_) => Vec::new(),
            None if request.method == "POST" => form_params(request.body),
            None => Vec::new(),
        };
        if !twilio::verify(token, &url, &params, header) || body_hash == Some(false) {
            return Err(WebhookError::Forbidden(format!(
                "the X-Twilio-Signature does not match {url} and the auth token; if SimRelay is behind a \
                 proxy, set public_url to the address Twilio calls"
            )));
        }
        // A JSON body (Twilio's other products) carries nothing we store.
        if body_hash.is_some() {
            return Ok(Outcome::Ignored);
        }
        match twilio::event(&params).map_err(WebhookError::BadRequest)? {
            twilio::Event::Inbound { sid, from, text } => {
                let record = record(SourceKind::Twilio, &sid);
                self.commit(self.message(from, text, None, Utc::now().fixed_offset(), vec![record]))
                    .await
            }
            twilio::Event::Status { sid, update } => self.apply_status(&sid, &update).await,
            twilio::Event::Other => Ok(Outcome::Ignored),
        }
    }

    async fn vonage(
        &self,
        request: &Webhook<'_>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, WebhookError> {
        let secret = self.config.signature_secret.as_deref().unwrap_or_default();
        if let Some(token) = request.authorization.and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        }) {
            return self
                .vonage_messages_api(token.trim(), secret, request.body, now)
                .await;
        }
        let is_json = request
            .content_type
            .is_some_and(|t| t.trim_start().starts_with("application/json"));
        let params = match request.method {
            "POST" if is_json => {
                vonage::json_params(request.body).map_err(WebhookError::Forbidden)?
            }
            "POST" => form_params(request.body),
            _ => form_params(request.query.unwrap_or("").as_bytes()),
        };
        if !params.iter().any(|(k, _)| k == "sig") {
            return Err(WebhookError::Forbidden(
                "no sig parameter: switch on signed webhooks for this Vonage account, or this request is \
                 not from Vonage"
                    .into(),
            ));
        }
        if !vonage::verify(self.config.method(), secret, &params) {
            return Err(WebhookError::Forbidden(
                "the sig does not match the signature secret and signature_method".into(),
            ));
        }
        let window = self
            .config
            .signature_window_secs
            .unwrap_or(DEFAULT_WINDOW_SECS);
        let signed_at = params
            .iter()
            .find(|(k, _)| k == "timestamp")
            .and_then(|(_, t)| t.trim().parse::<i64>().ok())
            .ok_or_else(|| WebhookError::Forbidden("no signed timestamp".into()))?;
        check_freshness(signed_at, now, window)?;
        if let (Some(expected), Some((_, given))) = (
            self.config.api_key.as_deref(),
            params.iter().find(|(k, _)| k == "api-key"),
        ) {
            if given != expected {
                return Err(WebhookError::Forbidden(
                    "the webhook names another API key than api_key".into(),
                ));
            }
        }
        match vonage::sms_api_event(&params).map_err(WebhookError::BadRequest)? {
            vonage::Event::Inbound(inbound) => self.vonage_inbound(inbound).await,
            vonage::Event::Status { id, update } => self.apply_status(&id, &update).await,
            vonage::Event::Other => Ok(Outcome::Ignored),
        }
    }

    async fn vonage_messages_api(
        &self,
        token: &str,
        secret: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Outcome, WebhookError> {
        let claims = jwt::verify_hs256(token, secret.as_bytes())
            .map_err(|e| WebhookError::Forbidden(e.to_string()))?;
        let iat = claims
            .get("iat")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| WebhookError::Forbidden("the token has no iat".into()))?;
        check_freshness(
            iat,
            now,
            self.config
                .signature_window_secs
                .unwrap_or(DEFAULT_WINDOW_SECS),
        )?;
        if let Some(exp) = claims.get("exp").and_then(serde_json::Value::as_i64) {
            if now.timestamp() > exp + CLOCK_SKEW_SECS {
                return Err(WebhookError::Forbidden("the token has expired".into()));
            }
        }
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body));
        match claims
            .get("payload_hash")
            .and_then(serde_json::Value::as_str)
        {
            Some(claimed)
                if crate::tokens::constant_time_eq(
                    claimed.to_ascii_lowercase().as_bytes(),
                    hash.as_bytes(),
                ) => {}
            Some(_) => {
                return Err(WebhookError::Forbidden(
                    "the body does not match the token's payload_hash".into(),
                ))
            }
            None => {
                return Err(WebhookError::Forbidden(
                    "the token has no payload_hash, so the body cannot be trusted".into(),
                ))
            }
        }
        if let (Some(expected), Some(given)) = (
            self.config.api_key.as_deref(),
            claims.get("api_key").and_then(serde_json::Value::as_str),
        ) {
            if given != expected {
                return Err(WebhookError::Forbidden(
                    "the token names another API key than api_key".into(),
                ));
            }
        }
        let body: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| WebhookError::BadRequest("the body is not JSON".into()))?;
        match vonage::messages_api_event(&body).map_err(WebhookError::BadRequest)? {
            vonage::Event::Inbound(inbound) => self.vonage_inbound(inbound).await,
            vonage::Event::Status { id, update } => self.apply_status(&id, &update).await,
            vonage::Event::Other => Ok(Outcome::Ignored),
        }
    }

    async fn vonage_inbound(&self, inbound: vonage::Inbound) -> Result<Outcome, WebhookError> {
        let sent_at = inbound.sent_at.unwrap_or_else(|| Utc::now().fixed_offset());
        match inbound.concat.clone() {
            None => {
                let record = record(SourceKind::Vonage, &inbound.id);
                self.commit(self.message(
                    inbound.from,
                    inbound.text,
                    inbound.encoding,
                    sent_at,
                    vec![record],
                ))
                .await
            }
            Some(concat) => {
                self.add_part(PartRecord::new(&inbound, &concat, sent_at))
                    .await
            }
        }
    }

    /// A message of this source, with its code extracted.
    fn message(
        &self,
        sender: String,
        text: String,
        encoding: Option<&str>,
        sent_at: DateTime<FixedOffset>,
        records: Vec<Vec<u8>>,
    ) -> NewMessage {
        crate::ingest::with_code(NewMessage {
            modem: self.config.name.clone(),
            sender,
            text,
            code: None,
            code_span: None,
            confidence: None,
            origin: None,
            alternatives: Vec::new(),
            sent_at,
            encoding: encoding.map(str::to_owned),
            decode_error: None,
            incomplete: false,
            pdus: records,
            extra_pdus: Vec::new(),
            ..NewMessage::default()
        })
    }

    /// Commits, then publishes.
    async fn commit(&self, message: NewMessage) -> Result<Outcome, WebhookError> {
        match self.store.insert_message(&message).await? {
            Inserted::New(message) => {
                self.hub.publish_sms(*message);
                Ok(Outcome::Stored)
            }
            Inserted::Duplicate => Ok(Outcome::Duplicate),
        }
    }

    /// Keeps one part of a long message; commits the message when this part completes it.
    async fn add_part(&self, part: PartRecord) -> Result<Outcome, WebhookError> {
        let raw = part.raw();
        let key = PartKey {
            reference: reference_number(&part.concat_ref),
            total: part.concat_total,
            seq: part.concat_part,
        };
        // One part at a time per source: two parts of a set arriving together must not both miss the other.
        let mut parts = self.parts.lock().await;
        let inserted = self
            .store
            .insert_part(&self.config.name, &raw, &part.from, key)
            .await?;
        if inserted != PartInserted::New {
            return Ok(Outcome::Duplicate);
        }
        let done = parts.add(part, raw, Instant::now());
        self.parts_changed.notify_one();
        match done {
            Some(set) => self.commit(self.assembled(set)).await,
            None => Ok(Outcome::Waiting),
        }
    }

    /// The message a (complete or expired) set of parts makes.
    fn assembled(&self, set: PartSet) -> NewMessage {
        let complete = set.complete();
        let parts: Vec<(PartRecord, Vec<u8>)> = set.parts.into_values().collect();
        let text: String = parts.iter().map(|(p, _)| p.text.as_str()).collect();
        let encoding = if parts
            .iter()
            .any(|(p, _)| p.encoding.as_deref() == Some("binary"))
        {
            Some("binary")
        } else if parts
            .iter()
            .any(|(p, _)| p.encoding.as_deref() == Some("ucs2"))
        {
            Some("ucs2")
        } else {
            parts
                .first()
                .and_then(|(p, _)| p.encoding.as_deref().map(|_| "gsm7"))
        };
        let first = parts.first().map(|(p, _)| p.clone());
        let sent_at = first
            .as_ref()
            .and_then(|p| DateTime::parse_from_rfc3339(&p.sent_at).ok())
            .unwrap_or_else(|| Utc::now().fixed_offset());
        let sender = first.map(|p| p.from).unwrap_or_default();
        let mut message = self.message(
            sender,
            text,
            encoding,
            sent_at,
            parts.into_iter().map(|(_, raw)| raw).collect(),
        );
        message.incomplete = !complete;
        message
    }

    /// Puts the parts that were waiting when SimRelay last stopped back into the waiting sets.
    async fn recover_parts(&self) -> Result<(), StoreError> {
        let mut parts = self.parts.lock().await;
        let now = Instant::now();
        for raw in self.store.pending_parts(&self.config.name).await? {
            let Ok(part) = serde_json::from_slice::<PartRecord>(&raw) else {
                tracing::warn!(source = %self.config.name, "a stored part is not a Vonage part record; left alone");
                continue;
            };
            if let Some(set) = parts.add(part, raw, now) {
                if let Err(e) = self.commit(self.assembled(set)).await {
                    tracing::error!(source = %self.config.name, error = %e, "cannot commit a long message");
                }
            }
        }
        Ok(())
    }

    async fn apply_status(&self, id: &str, update: &PartUpdate) -> Result<Outcome, WebhookError> {
        if let Some(sent_id) = self
            .store
            .apply_provider_status(&self.config.name, id, update)
            .await?
        {
            publish_stored_sent(&self.store, &self.hub, sent_id).await;
        }
        Ok(Outcome::Status)
    }

    /// Why this source cannot send (the key to set), if it cannot.
    pub(crate) fn send_problem(&self) -> Option<String> {
        self.config
            .send_problem()
            .map(|key| SendError::NotConfigured(key.into()).to_string())
    }

    /// Records a message to send through the provider and sends it in the background; returns its id in the
    /// sent sequence. Its progress is published like a modem's (`queued`, `sending`, `sent`, then the
    /// provider's callbacks: `delivered` or `failed`).
    pub(crate) async fn send(self: &Arc<Self>, to: &str, text: &str) -> Result<i64, StoreError> {
        let parts = simrelay_pdu::plan(text, None).parts.max(1);
        let id = self
            .store
            .insert_sent(&self.config.name, to, text, parts)
            .await?;
        publish_stored_sent(&self.store, &self.hub, id).await;
        let source = self.clone();
        let (to, text) = (to.to_owned(), text.to_owned());
        tokio::spawn(async move { source.deliver(id, &to, &text).await });
        Ok(id)
    }

    async fn deliver(&self, id: i64, to: &str, text: &str) {
        let record = |status, error: Option<String>| async move {
            match self
                .store
                .update_sent(id, status, error.as_deref(), &[])
                .await
            {
                Ok(()) => publish_stored_sent(&self.store, &self.hub, id).await,
                Err(e) => {
                    tracing::error!(id, error = %e, "cannot record the status of a sent message")
                }
            }
        };
        record(SendStatus::Sending, None).await;
        match self.submit(to, text).await {
            Ok(ids) => {
                match self
                    .store
                    .link_provider_sent(&self.config.name, id, &ids)
                    .await
                {
                    Ok(()) => publish_stored_sent(&self.store, &self.hub, id).await,
                    Err(e) => {
                        tracing::error!(id, error = %e, "cannot record what the provider accepted")
                    }
                }
            }
            Err(e) => {
                tracing::warn!(source = %self.config.name, id, error = %e, "sending through the provider failed");
                if matches!(e, SendError::Credentials { .. }) {
                    self.note_error(Some(e.to_string()));
                }
                record(SendStatus::Failed, Some(e.to_string())).await;
            }
        }
    }

    async fn submit(&self, to: &str, text: &str) -> Result<Vec<String>, SendError> {
        if let Some(key) = self.config.send_problem() {
            return Err(SendError::NotConfigured(key.into()));
        }
        let c = &self.config;
        match c.kind {
            SourceKind::Twilio => {
                let account = twilio::Account {
                    api_url: c.api_url.as_deref().unwrap_or(twilio::DEFAULT_API_URL),
                    account_sid: c.account_sid.as_deref().unwrap_or_default(),
                    auth_token: c.auth_token.as_deref().unwrap_or_default(),
                    from: c.number.as_deref(),
                    messaging_service_sid: c.messaging_service_sid.as_deref(),
                    status_callback: c.public("status"),
                };
                twilio::submit(&self.http, &account, to, text).await
            }
            SourceKind::Vonage => {
                let account = vonage::Account {
                    api_url: c.api_url.as_deref().unwrap_or(vonage::DEFAULT_API_URL),
                    api_key: c.api_key.as_deref().unwrap_or_default(),
                    api_secret: c.api_secret.as_deref().unwrap_or_default(),
                    from: c.number.as_deref().unwrap_or_default(),
                    callback: c.public("status"),
                };
                vonage::submit(&self.http, &account, to, text).await
            }
        }
    }
}

/// Refuses a signed time more than `window` seconds old or more than the clock skew in the future.
fn check_freshness(signed_at: i64, now: DateTime<Utc>, window: u64) -> Result<(), WebhookError> {
    let age = now.timestamp() - signed_at;
    if age > i64::try_from(window).unwrap_or(i64::MAX) || age < -CLOCK_SKEW_SECS {
        return Err(WebhookError::Forbidden(format!(
            "the signed timestamp is {age} s from now, outside the {window} s window (replayed, or this \
             machine's clock is wrong)"
        )));
    }
    Ok(())
}

fn form_params(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// What SimRelay keeps of a message a provider delivered whole: the provider and its id. It is the
/// message's "raw PDU" in the store, so a provider's retry of the same message is a duplicate.
fn record(kind: SourceKind, id: &str) -> Vec<u8> {
    serde_json::json!({"provider": kind.as_str(), "id": id})
        .to_string()
        .into_bytes()
}

/// A concatenation reference as the store's multipart key wants it: the number the SMS API gives, or (it
/// is text on the wire) a stable fold of whatever else it is.
fn reference_number(reference: &str) -> u16 {
    reference.parse().unwrap_or_else(|_| {
        reference
            .bytes()
            .fold(0u16, |h, b| h.wrapping_mul(31).wrapping_add(u16::from(b)))
    })
}

/// What SimRelay keeps of one part of a long message from Vonage's SMS API (JSON in the store): everything
/// needed to join the parts again after a restart. A provider's retry of a part gives the same record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PartRecord {
    provider: String,
    id: String,
    from: String,
    to: String,
    text: String,
    encoding: Option<String>,
    /// RFC 3339.
    sent_at: String,
    concat_ref: String,
    concat_total: u8,
    concat_part: u8,
}

impl PartRecord {
    fn new(
        inbound: &vonage::Inbound,
        concat: &vonage::Concat,
        sent_at: DateTime<FixedOffset>,
    ) -> Self {
        PartRecord {
            provider: SourceKind::Vonage.as_str().to_owned(),
            id: inbound.id.clone(),
            from: inbound.from.clone(),
            to: inbound.to.clone(),
            text: inbound.text.clone(),
            encoding: inbound.encoding.map(str::to_owned),
            sent_at: sent_at.to_rfc3339(),
            concat_ref: concat.reference.clone(),
            concat_total: concat.total,
            concat_part: concat.part,
        }
    }

    fn raw(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The parts of one long message received so far.
#[derive(Debug)]
struct PartSet {
    total: u8,
    parts: BTreeMap<u8, (PartRecord, Vec<u8>)>,
    /// When the newest part arrived: the set waits [`crate::MULTIPART_TIMEOUT`] from then.
    last: Instant,
}

impl PartSet {
    fn complete(&self) -> bool {
        self.parts.len() == usize::from(self.total)
    }
}

/// Waiting sets of one source, by (sender, reference, total).
#[derive(Debug, Default)]
struct Parts {
    sets: HashMap<(String, String, u8), PartSet>,
}

impl Parts {
    /// Adds a part; returns its set when this part completes it.
    fn add(&mut self, part: PartRecord, raw: Vec<u8>, now: Instant) -> Option<PartSet> {
        let key = (
            part.from.clone(),
            part.concat_ref.clone(),
            part.concat_total,
        );
        let set = self.sets.entry(key.clone()).or_insert_with(|| PartSet {
            total: part.concat_total,
            parts: BTreeMap::new(),
            last: now,
        });
        set.last = now;
        set.parts.entry(part.concat_part).or_insert((part, raw));
        if set.complete() {
            self.sets.remove(&key)
        } else {
            None
        }
    }

    /// Takes every set whose newest part arrived `timeout` or longer before `now`.
    fn expire(&mut self, now: Instant, timeout: Duration) -> Vec<PartSet> {
        let expired: Vec<_> = self
            .sets
            .iter()
            .filter(|(_, set)| now.duration_since(set.last) >= timeout)
            .map(|(key, _)| key.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|key| self.sets.remove(&key))
            .collect()
    }

    fn next_deadline(&self, timeout: Duration) -> Option<Instant> {
        self.sets.values().map(|set| set.last + timeout).min()
    }
}

/// Delivers, flagged incomplete, every set of `source` that stopped growing for [`crate::MULTIPART_TIMEOUT`].
async fn expire_parts(source: Arc<Source>, shutdown: CancellationToken) {
    let timeout = crate::MULTIPART_TIMEOUT;
    loop {
        let deadline = source.parts.lock().await.next_deadline(timeout);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = source.parts_changed.notified() => continue,
            () = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                    None => std::future::pending().await,
                }
            } => {
                let mut parts = source.parts.lock().await;
                for set in parts.expire(Instant::now(), timeout) {
                    if let Err(e) = source.commit(source.assembled(set)).await {
                        tracing::error!(source = %source.config.name, error = %e, "cannot commit an incomplete long message");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
