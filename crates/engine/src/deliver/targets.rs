//! The targets of the outbox, from the settings: the `hook_url` setting (a webhook named `hook_url`) and the
//! `forwarders`. Checking a forwarder (each kind's required fields, addresses, URLs) lives here too, for the
//! configuration file and `PATCH /api/settings` alike.

use lettre::message::Mailbox;
use simrelay_protocol::{Forwarder, ForwarderKind, Settings};

use super::outbox::TargetRow;
use super::{ntfy, telegram};

/// The target name of the `hook_url` setting; no forwarder may take it.
pub const HOOK_URL_TARGET: &str = "hook_url";

/// Most forwarders.
const MAX_FORWARDERS: usize = 32;
/// Longest name.
const MAX_NAME: usize = 64;
/// Longest URL.
const MAX_URL: usize = 2048;
/// Longest free-text field (topic, token, pattern, ...).
const MAX_FIELD: usize = 512;
/// Shortest webhook secret: a guessable key makes the signature worthless.
pub const MIN_SECRET: usize = 16;

/// Every target the settings name, each with what it needs to be reached (`hook_url` as a webhook; a webhook
/// without a secret of its own takes `hook_secret`).
pub(crate) fn targets_of(settings: &Settings) -> Vec<Forwarder> {
    let mut targets = Vec::with_capacity(settings.forwarders.len() + 1);
    if let Some(url) = &settings.hook_url {
        let mut hook = Forwarder::new(HOOK_URL_TARGET, ForwarderKind::Webhook);
        hook.url = Some(url.clone());
        hook.only_codes = settings.hook_only_codes;
        targets.push(hook);
    }
    targets.extend(settings.forwarders.iter().cloned());
    for target in &mut targets {
        if target.kind == ForwarderKind::Webhook && target.secret.is_none() {
            target.secret.clone_from(&settings.hook_secret);
        }
    }
    targets
}

/// What the outbox trigger needs of each target.
pub(crate) fn rows_of(targets: &[Forwarder]) -> Vec<TargetRow> {
    targets
        .iter()
        .map(|t| TargetRow {
            name: t.name.clone(),
            kind: t.kind,
            only_codes: t.only_codes,
            sender_like: t.sender.as_deref().map(sender_like),
            modem: t.modem.clone(),
        })
        .collect()
}

/// A sender pattern (`*` any characters, `?` one, ASCII case ignored) as the lower-cased LIKE pattern the
/// outbox trigger matches on both databases: `%`, `_` and `\` in the pattern are escaped, so they match only
/// themselves.
pub(crate) fn sender_like(pattern: &str) -> String {
    let mut like = String::with_capacity(pattern.len() + 2);
    for c in pattern.chars() {
        match c {
            '*' => like.push('%'),
            '?' => like.push('_'),
            '%' | '_' | '\\' => {
                like.push('\\');
                like.push(c);
            }
            c => like.push(c.to_ascii_lowercase()),
        }
    }
    like
}

/// Why a list of forwarders is refused: `"<field>: ..."` where the field names the entry
/// (`forwarders[2].topic`).
pub fn check_forwarders(forwarders: &[Forwarder]) -> Result<(), String> {
    if forwarders.len() > MAX_FORWARDERS {
        return Err(format!("at most {MAX_FORWARDERS} forwarders"));
    }
    for (i, f) in forwarders.iter().enumerate() {
        let at = |field: &str| format!("forwarders[{i}].{field}");
        check_forwarder(f).map_err(|(field, message)| format!("{}: {message}", at(field)))?;
        if forwarders[..i].iter().any(|g| g.name == f.name) {
            return Err(format!(
                "{}: another forwarder is already named {:?}; names must be unique",
                at("name"),
                f.name
            ));
        }
    }
    Ok(())
}

type Problem = (&'static str, String);

fn check_forwarder(f: &Forwarder) -> Result<(), Problem> {
    let name_ok = !f.name.is_empty()
        && f.name.chars().count() <= MAX_NAME
        && f.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !name_ok {
        return Err((
            "name",
            format!("must be 1 to {MAX_NAME} letters, digits, '_', '-' or '.'"),
        ));
    }
    if f.name == HOOK_URL_TARGET {
        return Err((
            "name",
            format!("{HOOK_URL_TARGET:?} is the hook_url setting's; pick another name"),
        ));
    }
    for (field, value) in [
        ("secret", &f.secret),
        ("topic", &f.topic),
        ("token", &f.token),
        ("chat_id", &f.chat_id),
        ("from", &f.from),
        ("smtp_host", &f.smtp_host),
        ("smtp_username", &f.smtp_username),
        ("smtp_password", &f.smtp_password),
        ("smtp_ca_file", &f.smtp_ca_file),
        ("sender", &f.sender),
        ("modem", &f.modem),
    ] {
        if let Some(value) = value {
            if value.is_empty()
                || value.chars().count() > MAX_FIELD
                || value.contains(['\r', '\n', '\0'])
            {
                return Err((
                    field,
                    format!("must be 1 to {MAX_FIELD} characters on one line, or left out"),
                ));
            }
        }
    }
    let required = |field: &'static str, value: &Option<String>, what: &str| match value {
        Some(_) => Ok(()),
        None => Err((
            field,
            format!("is required for a {} forwarder: {what}", f.kind.as_str()),
        )),
    };
    match f.kind {
        ForwarderKind::Webhook => {
            required(
                "url",
                &f.url,
                "the URL that gets each message as a signed JSON POST",
            )?;
            if f.secret.as_ref().is_some_and(|s| s.len() < MIN_SECRET) {
                return Err((
                    "secret",
                    format!(
                        "must be at least {MIN_SECRET} characters, or left out to use hook_secret"
                    ),
                ));
            }
        }
        ForwarderKind::Ntfy => {
            required("topic", &f.topic, "the ntfy topic to publish to")?;
        }
        ForwarderKind::Gotify => {
            required(
                "url",
                &f.url,
                "the Gotify server's address, e.g. https://push.example.org",
            )?;
            required(
                "token",
                &f.token,
                "the application token Gotify shows under Apps",
            )?;
        }
        ForwarderKind::Telegram => {
            required(
                "token",
                &f.token,
                "the bot token @BotFather gave, e.g. 123456:ABC-DEF...",
            )?;
            required(
                "chat_id",
                &f.chat_id,
                "the chat to write to: a number, or @channelname",
            )?;
        }
        ForwarderKind::Email => {
            required("smtp_host", &f.smtp_host, "the SMTP server's host name")?;
            required(
                "from",
                &f.from,
                "the sender address, e.g. SimRelay <sms@example.org>",
            )?;
            if let Some(from) = &f.from {
                from.parse::<Mailbox>()
                    .map_err(|e| ("from", format!("is not an e-mail address: {e}")))?;
            }
            if f.to.is_empty() || f.to.len() > MAX_FORWARDERS {
                return Err(("to", format!("must list 1 to {MAX_FORWARDERS} recipients")));
            }
            for to in &f.to {
                to.parse::<Mailbox>()
                    .map_err(|e| ("to", format!("{to:?} is not an e-mail address: {e}")))?;
            }
            if f.smtp_password.is_some() && f.smtp_username.is_none() {
                return Err(("smtp_username", "is required with smtp_password".into()));
            }
        }
    }
    if let Some(url) = &f.url {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if parsed.is_none() || url.chars().count() > MAX_URL {
            return Err((
                "url",
                format!("must be an http:// or https:// URL of at most {MAX_URL} characters"),
            ));
        }
    }
    Ok(())
}

/// The base URL a forwarder talks to (its `url`, or its service's public one).
pub(crate) fn base_url(f: &Forwarder) -> &str {
    match (f.url.as_deref(), f.kind) {
        (Some(url), _) => url,
        (None, ForwarderKind::Ntfy) => ntfy::DEFAULT_URL,
        (None, ForwarderKind::Telegram) => telegram::DEFAULT_URL,
        (None, _) => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ntfy(name: &str) -> Forwarder {
        let mut f = Forwarder::new(name, ForwarderKind::Ntfy);
        f.topic = Some("t".into());
        f
    }

    #[test]
    fn each_kind_names_its_missing_field() {
        assert_eq!(check_forwarders(&[ntfy("phone")]), Ok(()));
        let cases = [
            (
                Forwarder::new("a", ForwarderKind::Ntfy),
                "forwarders[0].topic",
            ),
            (
                Forwarder::new("a", ForwarderKind::Webhook),
                "forwarders[0].url",
            ),
            (
                Forwarder::new("a", ForwarderKind::Gotify),
                "forwarders[0].url",
            ),
            (
                Forwarder::new("a", ForwarderKind::Telegram),
                "forwarders[0].token",
            ),
            (
                Forwarder::new("a", ForwarderKind::Email),
                "forwarders[0].smtp_host",
            ),
            (ntfy("hook_url"), "forwarders[0].name"),
            (ntfy("has space"), "forwarders[0].name"),
            (ntfy(""), "forwarders[0].name"),
        ];
        for (f, field) in cases {
            let err = check_forwarders(&[f]).expect_err("refused");
            assert!(err.starts_with(&format!("{field}: ")), "{err}");
        }
        let mut w = Forwarder::new("w", ForwarderKind::Webhook);
        w.url = Some("ftp://x/".into());
        assert!(check_forwarders(&[w.clone()])
            .expect_err("bad")
            .starts_with("forwarders[0].url"));
        w.url = Some("https://example.org/h".into());
        w.secret = Some("short".into());
        assert!(check_forwarders(&[w])
            .expect_err("bad")
            .starts_with("forwarders[0].secret"));
        let mut t = ntfy("x");
        t.sender = Some("a\nb".into());
        assert!(check_forwarders(&[t])
            .expect_err("bad")
            .starts_with("forwarders[0].sender"));
        let mut e = Forwarder::new("mail", ForwarderKind::Email);
        e.smtp_host = Some("smtp.example.org".into());
        e.from = Some("SimRelay <sms@example.org>".into());
        assert!(check_forwarders(&[e.clone()])
            .expect_err("no to")
            .starts_with("forwarders[0].to"));
        e.to = vec!["me@example.org".into()];
        assert_eq!(check_forwarders(&[e.clone()]), Ok(()));
        e.to = vec!["nobody".into()];
        assert!(check_forwarders(&[e])
            .expect_err("bad to")
            .starts_with("forwarders[0].to"));
        let err = check_forwarders(&[ntfy("a"), ntfy("a")]).expect_err("dup");
        assert!(err.starts_with("forwarders[1].name"), "{err}");
    }

    #[test]
    fn sender_patterns_become_escaped_like_patterns() {
        assert_eq!(sender_like("*Bank*"), "%bank%");
        assert_eq!(sender_like("+49?5"), "+49_5");
        // LIKE's own wildcards and its escape character match only themselves.
        assert_eq!(sender_like("50%_off\\"), "50\\%\\_off\\\\");
    }

    #[test]
    fn hook_url_is_a_webhook_target_and_webhooks_default_to_hook_secret() {
        let mut own = Forwarder::new("own", ForwarderKind::Webhook);
        own.url = Some("http://x/".into());
        own.secret = Some("0123456789abcdef-own".into());
        let mut shared = own.clone();
        shared.name = "shared".into();
        shared.secret = None;
        shared.sender = Some("*Bank*".into());
        let settings = Settings {
            hook_url: Some("http://127.0.0.1:9/h".into()),
            hook_only_codes: true,
            hook_secret: Some("generated-secret-0123".into()),
            forwarders: vec![own, shared, ntfy("n")],
            ..Settings::default()
        };
        let targets = targets_of(&settings);
        let names: Vec<_> = targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["hook_url", "own", "shared", "n"]);
        assert!(targets[0].only_codes);
        assert_eq!(targets[0].secret.as_deref(), Some("generated-secret-0123"));
        assert_eq!(targets[1].secret.as_deref(), Some("0123456789abcdef-own"));
        assert_eq!(targets[2].secret.as_deref(), Some("generated-secret-0123"));
        assert_eq!(targets[3].secret, None, "only webhooks sign");
        let rows = rows_of(&targets);
        assert_eq!(rows[2].sender_like.as_deref(), Some("%bank%"));
        assert_eq!(base_url(&targets[3]), "https://ntfy.sh");
    }
}
