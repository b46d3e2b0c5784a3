//! Git source addresses: which strings are Git URLs, and how to print one without credentials.

use std::fmt;

/// A Git remote address, as given by the user.
#[derive(Clone, PartialEq, Eq)]
pub struct GitUrl {
    raw: String,
    transport: Transport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Https,
    Http,
    Ssh,
    /// `file://` or a local path to a repository.
    Local,
    /// `git://`: unauthenticated, read-only.
    Git,
}

impl GitUrl {
    /// Recognizes `https://`, `http://`, `ssh://`, `git://`, `file://` and scp-like
    /// `user@host:path`. Anything else is not a Git URL (a directory, for instance).
    pub fn parse(s: &str) -> Option<GitUrl> {
        let transport = if let Some((scheme, _)) = s.split_once("://") {
            match scheme.to_ascii_lowercase().as_str() {
                "https" => Transport::Https,
                "http" => Transport::Http,
                "ssh" | "git+ssh" | "ssh+git" => Transport::Ssh,
                "file" => Transport::Local,
                "git" => Transport::Git,
                _ => return None,
            }
        } else if is_scp_like(s) {
            Transport::Ssh
        } else {
            return None;
        };
        Some(GitUrl {
            raw: s.to_string(),
            transport,
        })
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The URL to hand to libgit2 (may carry a user name; never a password we add).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The user name in the URL (`git` in `git@host:org/repo`), if any.
    pub fn username(&self) -> Option<&str> {
        let rest = self
            .raw
            .split_once("://")
            .map_or(self.raw.as_str(), |(_, r)| r);
        let host_end = rest.find('/').unwrap_or(rest.len());
        let userinfo = &rest[..rest[..host_end].find('@')?];
        userinfo.split(':').next().filter(|u| !u.is_empty())
    }

    /// Whether the URL carries a password or token (`https://user:token@host/...`).
    pub fn has_password(&self) -> bool {
        let Some((_, rest)) = self.raw.split_once("://") else {
            return false;
        };
        let host_end = rest.find('/').unwrap_or(rest.len());
        rest[..host_end]
            .rfind('@')
            .is_some_and(|at| rest[..at].contains(':'))
    }

    /// The URL with any userinfo removed: safe for logs, reports and errors.
    pub fn redacted(&self) -> String {
        redact(&self.raw)
    }
}

/// `user@host:path` (and `host:path`) as git understands it: a colon before any slash, and the
/// part before it not a single drive letter.
fn is_scp_like(s: &str) -> bool {
    match (s.find(':'), s.find('/')) {
        (Some(colon), slash) => {
            colon > 1 && slash.is_none_or(|sl| colon < sl) && !s.starts_with('/')
        }
        _ => false,
    }
}

/// Removes userinfo (`user:token@`) from every URL-looking part of a text.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => out.push_str(&authority[at + 1..]),
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

impl fmt::Display for GitUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for GitUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GitUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_git_urls_and_not_directories() {
        let t = |s: &str| GitUrl::parse(s).map(|u| u.transport());
        assert_eq!(t("https://github.com/org/repo.git"), Some(Transport::Https));
        assert_eq!(t("http://127.0.0.1:8080/repo.git"), Some(Transport::Http));
        assert_eq!(t("ssh://git@host:2222/org/repo.git"), Some(Transport::Ssh));
        assert_eq!(t("git@github.com:org/repo.git"), Some(Transport::Ssh));
        assert_eq!(t("file:///srv/repo.git"), Some(Transport::Local));
        assert_eq!(t("git://host/repo"), Some(Transport::Git));
        for dir in [
            "examples/platform-repo",
            "/abs/path",
            "./rel:odd",
            "C:/x",
            "manifests",
        ] {
            assert_eq!(t(dir), None, "{dir}");
        }
        assert_eq!(t("ftp://host/x"), None);
    }

    #[test]
    fn user_names() {
        assert_eq!(
            GitUrl::parse("git@github.com:org/repo.git")
                .unwrap()
                .username(),
            Some("git")
        );
        assert_eq!(
            GitUrl::parse("ssh://deploy@host:22/r").unwrap().username(),
            Some("deploy")
        );
        assert_eq!(
            GitUrl::parse("https://host/org/r").unwrap().username(),
            None
        );
        assert_eq!(GitUrl::parse("https://host/a@b").unwrap().username(), None);
    }

    #[test]
    fn credentials_never_print() {
        let url = GitUrl::parse("https://bot:ghp_s3cret@github.com/org/repo.git").unwrap();
        assert_eq!(url.to_string(), "https://github.com/org/repo.git");
        assert_eq!(
            format!("{url:?}"),
            "GitUrl(https://github.com/org/repo.git)"
        );
        assert_eq!(
            redact("failed to fetch 'https://u:tok@host/r' and http://x@y/z"),
            "failed to fetch 'https://host/r' and http://y/z"
        );
    }
}
