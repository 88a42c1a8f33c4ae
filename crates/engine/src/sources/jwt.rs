//! A small, checked verifier of HS256 JSON Web Tokens (RFC 7519 over RFC 7515), for the Vonage Messages API's
//! signed callbacks (`Authorization: Bearer <JWT>`, signed with the account's signature secret).
//!
//! Why not a JWT crate: SimRelay needs exactly one algorithm, HMAC-SHA256 with a shared secret, and nothing a
//! JWT library adds (key sets, asymmetric algorithms, a claims policy of its own). Verifying exactly that is a
//! few lines over `hmac`/`sha2`, which the signature checks of the SMS API already use, and it makes the
//! classic JWT mistakes impossible by construction: the header must say `"alg": "HS256"` (so `none`, or an
//! RSA public key used as an HMAC secret, is refused before any key is touched), a `crit` header is refused
//! (we understand no extensions), and the signature is compared in constant time by `hmac`. Which claims must
//! hold (freshness, the body's hash, the API key) is the caller's policy, checked after this. Tested against
//! RFC 7515's HS256 example (Appendix A.1) and against forged, truncated and re-signed tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

/// Longest token accepted: Vonage's are a few hundred bytes; this only bounds the work a forged one causes.
const MAX_TOKEN: usize = 8 * 1024;

/// Why a token was refused. The messages are for the log: they never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwtError {
    /// Not three base64url parts of JSON objects, or too long.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names another algorithm than HS256.
    #[error("the token is signed with {0:?}, but only HS256 is accepted")]
    Algorithm(String),
    /// The header asks for extensions we do not implement.
    #[error("the token has critical header extensions, which are not supported")]
    Critical,
    /// The signature does not match: another secret, or the token was altered.
    #[error("the token's signature does not match the signature secret")]
    Signature,
}

/// Verifies `token`'s HS256 signature with `secret` and returns its claims (the payload object). Checks no
/// claim: that is the caller's policy.
pub(crate) fn verify_hs256(token: &str, secret: &[u8]) -> Result<Map<String, Value>, JwtError> {
    if token.len() > MAX_TOKEN {
        return Err(JwtError::Malformed("longer than 8 KiB"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three dot-separated parts"));
    };
    let header = object(header_b64, "the header")?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" => {}
        Some(Value::String(alg)) => return Err(JwtError::Algorithm(alg.clone())),
        _ => return Err(JwtError::Malformed("the header has no alg")),
    }
    if header.contains_key("crit") {
        return Err(JwtError::Critical);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| JwtError::Malformed("the signature is not base64url"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| JwtError::Malformed("unusable secret"))?;
    mac.update(header_b64.as_bytes());
    mac.update(b".");
    mac.update(payload_b64.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| JwtError::Signature)?;
    // Only a token we know is genuine gets its payload parsed.
    object(payload_b64, "the payload")
}

/// Signs `claims` as an HS256 token (for tests, and for the test kit's fake provider).
#[cfg(test)]
pub(crate) fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{signature}")
}

fn object(part: &str, what: &'static str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| {
        JwtError::Malformed(if what == "the header" {
            "the header is not base64url"
        } else {
            "the payload is not base64url"
        })
    })?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed(if what == "the header" {
            "the header is not a JSON object"
        } else {
            "the payload is not a JSON object"
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7515, Appendix A.1: the HS256 example, with its key (a JWK `k`, base64url); also in
    /// tests/data/providers/signatures.json, with its claims.
    const RFC_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
        eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
        dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn rfc_key() -> Vec<u8> {
        let vector = &crate::sources::tests::vectors()["jwt_hs256"][0];
        URL_SAFE_NO_PAD
            .decode(vector["key_base64url"].as_str().expect("key"))
            .expect("the RFC's key")
    }

    #[test]
    fn the_rfc_7515_example_verifies_and_yields_its_claims() {
        let vector = &crate::sources::tests::vectors()["jwt_hs256"][0];
        assert_eq!(vector["token"], RFC_TOKEN);
        let claims = verify_hs256(RFC_TOKEN, &rfc_key()).expect("valid");
        assert_eq!(Value::Object(claims), vector["claims"]);
    }

    #[test]
    fn altered_tokens_and_other_secrets_are_refused() {
        assert_eq!(
            verify_hs256(RFC_TOKEN, b"another secret"),
            Err(JwtError::Signature)
        );
        // The payload changed (issuer "jof"), signature kept.
        let parts: Vec<&str> = RFC_TOKEN.split('.').collect();
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"jof"}"#);
        let forged = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert_eq!(verify_hs256(&forged, &rfc_key()), Err(JwtError::Signature));
        // A truncated signature, and tokens that are not three parts.
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("base64url");
        let truncated = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(&signature[..16])
        );
        assert_eq!(
            verify_hs256(&truncated, &rfc_key()),
            Err(JwtError::Signature)
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.AA"] {
            assert!(
                matches!(verify_hs256(bad, &rfc_key()), Err(JwtError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            verify_hs256(&"a".repeat(MAX_TOKEN + 1), b"k"),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn only_hs256_is_accepted_whatever_the_signature() {
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"HS512"}"#,
        ] {
            let token = format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode("{}")
            );
            assert!(
                matches!(verify_hs256(&token, b"k"), Err(JwtError::Algorithm(_))),
                "{header}"
            );
        }
        let crit = format!(
            "{}.{}.AA",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","crit":["x"]}"#),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert_eq!(verify_hs256(&crit, b"k"), Err(JwtError::Critical));
    }

    #[test]
    fn a_token_we_sign_round_trips() {
        let claims = serde_json::json!({"iat": 1, "api_key": "abc"});
        let token = sign_hs256(&claims, b"secret");
        let back = verify_hs256(&token, b"secret").expect("valid");
        assert_eq!(Value::Object(back), claims);
    }
}
