//! An SMTP server for e-mail tests: Python's `aiosmtpd` (from PyPI; `scripts/test.sh` installs it), storing what
//! it receives in a Maildir, plain, with STARTTLS, or with TLS from the first byte.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::Guard;
use crate::{bins, free_port, KitError};

/// How an SMTP server secures its connections.
#[derive(Debug, Clone)]
pub enum SmtpTls {
    /// Plain SMTP.
    None,
    /// STARTTLS offered and required, with this certificate and key (PEM).
    Starttls(String, String),
    /// TLS from the first byte (SMTPS), with this certificate and key (PEM).
    Wrapper(String, String),
}

/// A running `aiosmtpd`, killed when dropped.
#[derive(Debug)]
pub struct SmtpServer {
    _guard: Guard,
    /// Its port on 127.0.0.1.
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts one and waits until it listens.
    pub async fn start(tls: SmtpTls) -> Result<SmtpServer, KitError> {
        let python = bins::on_path("python3")
            .ok_or_else(|| KitError::Missing("python3 is not installed".into()))?;
        let dir = tempfile::tempdir().map_err(KitError::io("cannot make a temporary folder"))?;
        let maildir = dir.path().join("mail");
        let port = free_port()?;
        let mut command = Command::new(python);
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        let pem_files = |cert: &str, key: &str| -> Result<(PathBuf, PathBuf), KitError> {
            let (c, k) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&c, cert).map_err(KitError::io("cannot write the certificate"))?;
            std::fs::write(&k, key).map_err(KitError::io("cannot write the key"))?;
            Ok((c, k))
        };
        match &tls {
            SmtpTls::None => {}
            SmtpTls::Starttls(cert, key) => {
                let (c, k) = pem_files(cert, key)?;
                command.arg("--tlscert").arg(c).arg("--tlskey").arg(k);
            }
            SmtpTls::Wrapper(cert, key) => {
                let (c, k) = pem_files(cert, key)?;
                command.arg("--smtpscert").arg(c).arg("--smtpskey").arg(k);
            }
        }
        let log_path = dir.path().join("smtp.log");
        let log =
            std::fs::File::create(&log_path).map_err(KitError::io("cannot create the SMTP log"))?;
        command
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut guard = Guard::spawn("aiosmtpd", &mut command)?;
        if let Err(e) = crate::wait_for_port(port, &mut guard, Duration::from_secs(30)).await {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(KitError::Missing(format!(
                "aiosmtpd did not start ({e}); scripts/test.sh installs it (pip install aiosmtpd): {log}"
            )));
        }
        Ok(SmtpServer {
            _guard: guard,
            port,
            maildir,
            _dir: dir,
        })
    }

    /// Every mail received so far, as raw text, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut mails: Vec<(std::time::SystemTime, String)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let at = e.metadata().ok()?.modified().ok()?;
                Some((at, std::fs::read_to_string(e.path()).ok()?))
            })
            .collect();
        mails.sort();
        mails.into_iter().map(|(_, m)| m).collect()
    }
}
