//! Credentials and host verification for Git transports, without a shell or an ssh binary.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::path::PathBuf;

use git2::{CertificateCheckStatus, Cred, CredentialType, RemoteCallbacks};

use super::known_hosts::{self, Verdict};
use super::url::GitUrl;

/// A credential: given as is (an environment variable), or a file read at every fetch, so a
/// mounted Secret that rotates is picked up without a restart. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretText {
    Value(String),
    File(PathBuf),
}

impl SecretText {
    /// The credential now (a file's content without its trailing newline). A file of more
    /// than one line holds something else (a manifest, a credentials store): it is named, its
    /// content never quoted, rather than sent to the server to be refused.
    pub fn read(&self) -> Result<String, String> {
        let path = match self {
            SecretText::Value(v) => return Ok(v.clone()),
            SecretText::File(path) => path,
        };
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => format!("{} is not UTF-8 text", path.display()),
            _ => format!("cannot read {}: {e}", path.display()),
        })?;
        let secret = text.trim_end_matches(['\n', '\r']);
        match secret.lines().count() {
            0 => Err(format!("{} is empty", path.display())),
            1 => Ok(secret.to_string()),
            n => Err(format!(
                "{} holds {n} lines: a token or passphrase file holds that alone, on one line",
                path.display()
            )),
        }
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretText::Value(_) => f.write_str("***"),
            SecretText::File(path) => write!(f, "File({})", path.display()),
        }
    }
}

impl From<&str> for SecretText {
    fn from(value: &str) -> Self {
        SecretText::Value(value.to_string())
    }
}

/// How to authenticate to a Git remote. `Debug` never prints secrets.
#[derive(Clone, Default)]
pub struct GitAuth {
    /// User for https basic auth (default `git`) and for ssh when the URL names none.
    pub username: Option<String>,
    /// https token or password.
    pub token: Option<SecretText>,
    pub ssh_key: Option<PathBuf>,
    pub ssh_passphrase: Option<SecretText>,
    /// known_hosts file for ssh; default `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    pub insecure_skip_host_key_check: bool,
}

impl fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitAuth")
            .field("username", &self.username)
            .field("token", &self.token)
            .field("ssh_key", &self.ssh_key)
            .field("ssh_passphrase", &self.ssh_passphrase)
            .field("known_hosts", &self.known_hosts)
            .field(
                "insecure_skip_host_key_check",
                &self.insecure_skip_host_key_check,
            )
            .finish()
    }
}

/// Why a connection was refused, in our words (libgit2's own message is less precise).
#[derive(Default)]
pub struct AuthTrouble {
    pub message: RefCell<Option<String>>,
    attempts: Cell<u32>,
}

impl AuthTrouble {
    fn set(&self, message: String) {
        self.message.borrow_mut().get_or_insert(message);
    }
}

/// Callbacks that answer credential requests once (libgit2 asks again after a rejection, so
/// answering forever would loop) and check SSH host keys against known_hosts.
pub fn callbacks<'a>(
    auth: &'a GitAuth,
    url: &'a GitUrl,
    trouble: &'a AuthTrouble,
) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    cb.credentials(move |_url, user_from_url, allowed| {
        let attempt = trouble.attempts.get() + 1;
        trouble.attempts.set(attempt);
        if attempt > 3 {
            trouble.set(format!(
                "authentication to {url} failed: the credentials were rejected"
            ));
            return Err(git2::Error::from_str("authentication failed"));
        }
        credential(auth, user_from_url, allowed).map_err(|msg| {
            trouble.set(format!("authentication to {url} failed: {msg}"));
            git2::Error::from_str(&msg)
        })
    });
    cb.certificate_check(move |cert, host| {
        let Some(hostkey) = cert.as_hostkey() else {
            // TLS: libgit2 verifies the chain against the system's CAs (and SSL_CERT_FILE).
            return Ok(CertificateCheckStatus::CertificatePassthrough);
        };
        if auth.insecure_skip_host_key_check {
            return Ok(CertificateCheckStatus::CertificateOk);
        }
        let key = hostkey.hostkey().unwrap_or_default();
        let port = ssh_port(url);
        let (path, text) = match read_known_hosts(auth) {
            Ok(found) => found,
            Err(msg) => {
                trouble.set(msg.clone());
                return Err(git2::Error::from_str(&msg));
            }
        };
        let problem = match known_hosts::check(&text, host, port, key) {
            Verdict::Known => return Ok(CertificateCheckStatus::CertificateOk),
            Verdict::Unknown => format!("host key of {host}:{port} is not in {path} (refusing an unknown host; add it, or pass --git-insecure-skip-host-key-check)"),
            Verdict::Mismatch => format!("host key of {host}:{port} does not match {path}: refusing (possible man-in-the-middle)"),
            Verdict::Revoked => format!("host key of {host}:{port} is revoked in {path}"),
        };
        trouble.set(problem.clone());
        Err(git2::Error::from_str(&problem))
    });
    cb
}

fn credential(
    auth: &GitAuth,
    user_from_url: Option<&str>,
    allowed: CredentialType,
) -> Result<Cred, String> {
    let user = user_from_url.or(auth.username.as_deref()).unwrap_or("git");
    if allowed.contains(CredentialType::SSH_KEY) {
        let key = auth
            .ssh_key
            .as_ref()
            .ok_or("the server wants an ssh key: pass --git-ssh-key-file")?;
        let passphrase = auth
            .ssh_passphrase
            .as_ref()
            .map(SecretText::read)
            .transpose()?;
        return Cred::ssh_key(user, None, key, passphrase.as_deref())
            .map_err(|e| format!("cannot use ssh key {}: {}", key.display(), e.message()));
    }
    if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
        let token = auth
            .token
            .as_ref()
            .ok_or("the server wants a token: pass --git-token-file")?
            .read()?;
        return Cred::userpass_plaintext(auth.username.as_deref().unwrap_or(user), &token)
            .map_err(|e| e.message().to_string());
    }
    if allowed.contains(CredentialType::USERNAME) {
        return Cred::username(user).map_err(|e| e.message().to_string());
    }
    Err(format!(
        "no supported credential type (server allows {allowed:?})"
    ))
}

/// libssh2's refusal of the key file, naming the file (libssh2's text names none); `None`
/// when the failure is not about the key.
pub fn key_trouble(auth: &GitAuth, e: &git2::Error) -> Option<String> {
    let key = auth.ssh_key.as_ref()?;
    (e.class() == git2::ErrorClass::Ssh && e.message().contains("private key")).then(|| {
        let hint = match auth.ssh_passphrase {
            Some(_) => "a broken key, or the wrong passphrase (--git-ssh-passphrase-file)?",
            None => "a broken key, or one that needs a passphrase (--git-ssh-passphrase-file)?",
        };
        format!(
            "cannot use ssh key {} (--git-ssh-key-file): {}; {hint}",
            key.display(),
            e.message()
        )
    })
}

fn read_known_hosts(auth: &GitAuth) -> Result<(String, String), String> {
    let path = match &auth.known_hosts {
        Some(p) => p.clone(),
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".ssh/known_hosts"))
            .ok_or("no known_hosts file: pass --git-known-hosts-file")?,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read known_hosts {}: {e} (pass --git-known-hosts-file)",
            path.display()
        )
    })?;
    Ok((path.display().to_string(), text))
}

/// The port of an ssh URL (`ssh://host:2222/...`); scp-like URLs always use 22.
fn ssh_port(url: &GitUrl) -> u16 {
    let Some((_, rest)) = url.as_str().split_once("://") else {
        return 22;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    host_port
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(22)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_ssh_urls() {
        let port = |s: &str| ssh_port(&GitUrl::parse(s).unwrap());
        assert_eq!(port("ssh://git@127.0.0.1:2222/srv/repo.git"), 2222);
        assert_eq!(port("ssh://host/repo"), 22);
        assert_eq!(port("git@github.com:org/repo.git"), 22);
    }

    #[test]
    fn debug_never_prints_secrets() {
        let auth = GitAuth {
            token: Some("ghp_supersecret".into()),
            ssh_passphrase: Some("pw-123".into()),
            ..Default::default()
        };
        let text = format!("{auth:?}");
        assert!(
            !text.contains("supersecret") && !text.contains("pw-123"),
            "{text}"
        );
    }

    #[test]
    fn secret_files_are_read_each_time() {
        let dir = std::env::temp_dir().join(format!("driftless-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "first\n").unwrap();
        let secret = SecretText::File(path.clone());
        assert_eq!(secret.read().unwrap(), "first");
        std::fs::write(&path, "rotated").unwrap();
        assert_eq!(secret.read().unwrap(), "rotated");
        assert!(!format!("{secret:?}").contains("rotated"));
        std::fs::write(&path, "token: s3cret\n  bad: [\n").unwrap();
        let e = secret.read().unwrap_err();
        assert!(e.contains("holds 2 lines") && !e.contains("s3cret"), "{e}");
        std::fs::write(&path, [0xff, 0xfe, b's']).unwrap();
        assert!(secret.read().unwrap_err().contains("not UTF-8"));
        std::fs::remove_file(&path).unwrap();
        assert!(secret.read().unwrap_err().contains("cannot read"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
