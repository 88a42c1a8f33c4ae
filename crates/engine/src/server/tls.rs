//! Optional HTTPS and WSS (`--tls`, config `tls = true`): a self-signed certificate made on first use, and a
//! listener that speaks TLS on the server's port.
//!
//! There is no certificate authority on a LAN, so the certificate is trusted the way SSH keys are: the user
//! compares its SHA-256 fingerprint (printed at start, by `simrelay config`, and in `GET /api/pair`) with what
//! the other device shows, once. The certificate and its key live next to the config file (the key readable
//! by the owner only) and are reused, so the fingerprint stays the same across restarts; deleting both files
//! makes a new pair (for instance after the machine's LAN address changed).
//!
//! Each connection's handshake runs in its own task with a deadline (`conn.rs`), so a client that connects and
//! says nothing holds neither the port nor the other clients. A plain-HTTP request on the TLS port (a browser
//! given `http://`) gets a redirect to the same address with `https://`; anything else that is not TLS is closed.
//!
//! LAN sharing serves HTTPS by default even when this machine's own listener is plain HTTP (see `lan.rs`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The certificate, PEM, in the config directory.
pub const CERT_FILE: &str = "tls-cert.pem";
/// Its private key, PEM (PKCS#8), in the config directory; mode 0600 on Unix.
pub const KEY_FILE: &str = "tls-key.pem";

/// Largest plain-HTTP request head read to answer with a redirect.
const MAX_PLAIN_HEAD: usize = 8 * 1024;
/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The certificate could not be generated.
    #[error("cannot generate the TLS certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A stored file is not what it should be.
    #[error("{path} is not a usable {what}: {message}; delete {CERT_FILE} and {KEY_FILE} there to make a new certificate")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        what: &'static str,
        /// What was wrong.
        message: String,
    },
}

/// The server's TLS identity: what the listener serves with, and the fingerprint users compare.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
    fingerprint: String,
    cert_path: PathBuf,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("fingerprint", &self.fingerprint)
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads the certificate and key from `dir`, or, when there are none yet, generates a self-signed
    /// certificate for `names` (host names and IP addresses) and stores both there.
    pub fn load_or_create(dir: &Path, names: &[String]) -> Result<Tls, TlsError> {
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        if !cert_path.exists() || !key_path.exists() {
            create(dir, names)?;
        }
        let cert = CertificateDer::from_pem_file(&cert_path).map_err(|e| TlsError::Invalid {
            path: cert_path.clone(),
            what: "certificate",
            message: e.to_string(),
        })?;
        let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| TlsError::Invalid {
            path: key_path.clone(),
            what: "private key",
            message: e.to_string(),
        })?;
        let fingerprint = fingerprint(&cert);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let invalid = |message: String| TlsError::Invalid {
            path: key_path.clone(),
            what: "private key for the certificate",
            message,
        };
        // The provider is named here, not taken from the process default: with two providers compiled in,
        // rustls refuses to guess.
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .map_err(|e| invalid(e.to_string()))?;
        // HTTP/1.1 only: WebSocket upgrades need it, and nothing here gains from HTTP/2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            fingerprint,
            cert_path,
        })
    }

    /// The certificate's SHA-256 fingerprint, `AB:CD:...` (32 pairs).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// What the connections are handshaken with.
    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// The certificate file (PEM), for clients that want to trust it explicitly.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }
}

/// The fingerprint of the certificate stored in `dir`, if there is one (nothing is generated).
pub fn stored_fingerprint(dir: &Path) -> Result<Option<String>, TlsError> {
    let path = dir.join(CERT_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let cert = CertificateDer::from_pem_file(&path).map_err(|e| TlsError::Invalid {
        path: path.clone(),
        what: "certificate",
        message: e.to_string(),
    })?;
    Ok(Some(fingerprint(&cert)))
}

/// SHA-256 of a DER certificate as upper-case hex pairs joined by colons, the form browsers show.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The names a certificate for a server on `listen` is made for: `localhost`, the loopback addresses, the
/// listen address when it is a specific one, and this machine's LAN addresses sharing would use (the private
/// ones, and those in `also`, the ones the owner named).
pub fn certificate_names(listen: SocketAddr, also: &[super::lan::AddrRange]) -> Vec<String> {
    let mut ips: Vec<IpAddr> = vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    if !listen.ip().is_unspecified() {
        ips.push(listen.ip());
    }
    ips.extend(super::lan::lan_ips(also));
    let mut names = vec!["localhost".to_owned()];
    for ip in ips {
        let ip = ip.to_string();
        if !names.contains(&ip) {
            names.push(ip);
        }
    }
    names
}

/// Generates the certificate and key and writes them to `dir`, the key with owner-only permissions from the
/// moment it exists.
fn create(dir: &Path, names: &[String]) -> Result<(), TlsError> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Io {
            action,
            path,
            source,
        }
    };
    crate::tokens::create_private_dir(dir).map_err(io("create the directory", dir))?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "SimRelay (self-signed)");
    // Long-lived on purpose: it is pinned by fingerprint, and a new one means pairing every device again.
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2099, 12, 31);
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let key_path = dir.join(KEY_FILE);
    write_private(&key_path, key.serialize_pem().as_bytes())
        .map_err(io("write the TLS key", &key_path))?;
    let cert_path = dir.join(CERT_FILE);
    std::fs::write(&cert_path, cert.pem()).map_err(io("write the TLS certificate", &cert_path))?;
    tracing::info!(path = %cert_path.display(), ?names, "generated a self-signed TLS certificate");
    Ok(())
}

/// Writes a file only its owner can read (0600 on Unix, set at creation, not after).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // An existing file keeps its mode on open: make sure.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    }
}

/// The TLS handshake, or for a plain-HTTP request a redirect to `https://`.
pub(crate) async fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: &TlsAcceptor,
    local: Option<SocketAddr>,
) -> Option<TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await.ok()? == 0 {
        return None;
    }
    if first[0] != TLS_HANDSHAKE_RECORD {
        redirect_to_https(stream, local).await;
        return None;
    }
    match acceptor.accept(stream).await {
        Ok(stream) => Some(stream),
        Err(e) => {
            // Usually a browser that does not (yet) trust the certificate.
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
    }
}

/// Answers a plain-HTTP request with `307` to the same host and path over `https://`. Temporary, so a browser
/// does not remember it if TLS is switched off later.
async fn redirect_to_https(mut stream: TcpStream, local: Option<SocketAddr>) {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_PLAIN_HEAD {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    const BODY: &str = "This server only speaks HTTPS.\r\n";
    let status = match https_location(&head, local) {
        Some(location) => format!("307 Temporary Redirect\r\nLocation: {location}"),
        None => "400 Bad Request".to_owned(),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// `https://<Host><path>` for a plain-HTTP request head; `None` when it is not a request line we can read.
/// The host and path are echoed to the client that sent them, but only in their plain forms (no spaces or
/// control characters, so nothing can be smuggled into the response head).
fn https_location(head: &[u8], local: Option<SocketAddr>) -> Option<String> {
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split("\r\n");
    let mut request = lines.next()?.split(' ');
    let (_method, target) = (request.next()?, request.next()?);
    if !target.starts_with('/') || !target.chars().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    let host = lines
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("host").then(|| value.trim())
        })
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(str::to_owned)
        .or_else(|| local.map(|a| a.to_string()))?;
    Some(format!("https://{host}{target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_made_once_with_a_private_key_and_a_stable_fingerprint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let names = certificate_names("0.0.0.0:8731".parse().expect("addr"), &[]);
        assert!(names.contains(&"localhost".to_owned()) && names.contains(&"127.0.0.1".to_owned()));
        assert_eq!(stored_fingerprint(dir.path()).expect("read"), None);
        let first = Tls::load_or_create(dir.path(), &names).expect("created");
        let fp = first.fingerprint().to_owned();
        assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
        assert!(fp.split(':').all(|pair| pair.len() == 2
            && pair
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let again = Tls::load_or_create(dir.path(), &names).expect("loaded");
        assert_eq!(again.fingerprint(), fp, "reused, not regenerated");
        assert_eq!(
            stored_fingerprint(dir.path()).expect("read"),
            Some(fp.clone())
        );
        // The fingerprint is of the DER certificate in the file.
        let der = CertificateDer::from_pem_file(dir.path().join(CERT_FILE)).expect("pem");
        assert_eq!(fingerprint(&der), fp);
    }

    #[test]
    fn a_damaged_file_is_named_with_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        Tls::load_or_create(dir.path(), &["localhost".to_owned()]).expect("created");
        std::fs::write(dir.path().join(KEY_FILE), "not a key").expect("write");
        let err = Tls::load_or_create(dir.path(), &["localhost".to_owned()])
            .expect_err("bad key")
            .to_string();
        assert!(err.contains(KEY_FILE) && err.contains("delete"), "{err}");
    }

    #[test]
    fn plain_http_is_sent_to_the_same_place_over_https() {
        let local = Some("127.0.0.1:8731".parse().expect("addr"));
        let head =
            b"GET /api/messages?q=x HTTP/1.1\r\nHost: 192.168.1.5:8731\r\nAccept: */*\r\n\r\n";
        assert_eq!(
            https_location(head, local).as_deref(),
            Some("https://192.168.1.5:8731/api/messages?q=x")
        );
        let no_host = b"GET / HTTP/1.0\r\n\r\n";
        assert_eq!(
            https_location(no_host, local).as_deref(),
            Some("https://127.0.0.1:8731/")
        );
        let smuggled = b"GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n";
        assert_eq!(
            https_location(smuggled, local).as_deref(),
            Some("https://127.0.0.1:8731/")
        );
        assert_eq!(https_location(b"\x00\x01garbage", local), None);
        assert_eq!(
            https_location(b"GET http://x/ HTTP/1.1\r\n\r\n", local),
            None
        );
    }
}
