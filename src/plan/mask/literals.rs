//! What counts as a secret literal outside a Secret: the one detector that masking (every output)
//! and the linter (`secret-in-env`, `secret-in-configmap`) share, so what lint calls a secret is
//! what a diff never shows.

/// Name fragments that say a value is a secret (compared on the name in upper snake case).
const SECRET_NAMES: [&str; 9] = [
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "ACCESS_KEY",
];

/// Why a literal is secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// Its name is secret-like (`DB_PASSWORD`, `api-token`, `privateKey`).
    Named,
    /// The password of a URL (`postgresql+psycopg://user:PASSWORD@host/db`).
    UrlPassword,
    /// A PEM private key block.
    PrivateKey,
    /// A `key=value` or `key: value` line with a secret-like key, inside a longer text (a
    /// properties file in a ConfigMap).
    NamedLine,
}

/// One secret part of a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretLiteral {
    pub kind: SecretKind,
    /// The secret-like name of a [`SecretKind::NamedLine`] (never the value).
    pub key: Option<String>,
    /// The secret text itself: to hide, never to print.
    pub text: String,
}

/// `DB_PASSWORD`, `db.password`, `api-token` and `privateKey` all name secrets.
pub fn secret_like_name(name: &str) -> bool {
    let mut upper = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            upper.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        upper.push(match c {
            '-' | '.' | ' ' => '_',
            c => c.to_ascii_uppercase(),
        });
    }
    SECRET_NAMES.iter().any(|s| upper.contains(s))
}

/// `$(VAR)`, `${VAR}` or `{{ template }}`: a reference resolved elsewhere, not a literal.
pub fn is_reference(value: &str) -> bool {
    let v = value.trim();
    let wrapped = |open: &str, close: &str| {
        v.starts_with(open)
            && v.ends_with(close)
            && v[open.len()..].find(close) == Some(v.len() - open.len() - close.len())
    };
    wrapped("$(", ")") || wrapped("${", "}") || wrapped("{{", "}}")
}

/// Every secret part of `value`, a literal stored under `name` (an env variable, a ConfigMap
/// key). Empty values and references are no secrets.
pub fn secret_literals(name: &str, value: &str) -> Vec<SecretLiteral> {
    let literal = |kind, key: Option<&str>, text: &str| SecretLiteral {
        kind,
        key: key.map(str::to_string),
        text: text.to_string(),
    };
    if value.trim().is_empty() || is_reference(value) {
        return Vec::new();
    }
    if secret_like_name(name) {
        return vec![literal(SecretKind::Named, None, value)];
    }
    let mut found: Vec<SecretLiteral> = private_keys(value)
        .into_iter()
        .map(|block| literal(SecretKind::PrivateKey, None, block))
        .collect();
    found.extend(
        url_passwords(value)
            .into_iter()
            .map(|p| literal(SecretKind::UrlPassword, None, p)),
    );
    for (key, secret) in named_lines(value) {
        if !found.iter().any(|f| f.text.contains(secret)) {
            found.push(literal(SecretKind::NamedLine, Some(key), secret));
        }
    }
    found
}

/// `pass` in `scheme://user:pass@host...`, the first one in `value`.
pub fn url_password(value: &str) -> Option<&str> {
    url_passwords(value).into_iter().next()
}

/// Every URL password in a text.
fn url_passwords(value: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find("://") {
        rest = &rest[at + 3..];
        let authority_end = rest
            .find(|c: char| {
                matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(userinfo) = authority.rfind('@').map(|i| &authority[..i])
            && let Some((_, password)) = userinfo.split_once(':')
            && !password.is_empty()
            && !is_reference(password)
        {
            found.push(password);
        }
    }
    found
}

/// PEM private key blocks, from `-----BEGIN ... PRIVATE KEY-----` to its END line (or to the
/// end of the text, when cut short).
fn private_keys(value: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some(begin) = value[offset..].find("-----BEGIN ") {
        let start = offset + begin;
        let header_end = value[start..].find('\n').map_or(value.len(), |i| start + i);
        if !value[start..header_end].contains("PRIVATE KEY-----") {
            offset = header_end;
            continue;
        }
        let end = match value[header_end..].find("-----END ") {
            Some(i) => {
                let end_line = header_end + i;
                value[end_line + 9..]
                    .find("-----")
                    .map_or(value.len(), |j| end_line + 9 + j + 5)
            }
            None => value.len(),
        };
        found.push(&value[start..end]);
        offset = end;
    }
    found
}

/// `password=hunter2`, `db.password: hunter2`, `export API_TOKEN="abc"` lines: (key, value).
fn named_lines(value: &str) -> Vec<(&str, &str)> {
    let mut found = Vec::new();
    for line in value.lines() {
        let line = line.trim().trim_start_matches("export ").trim_start();
        let Some(split) = line.find(['=', ':']) else {
            continue;
        };
        let key = line[..split].trim().trim_matches(['"', '\'']);
        let secret = line[split + 1..]
            .trim()
            .trim_end_matches(',')
            .trim_matches(['"', '\'']);
        let key_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if key_ok && secret_like_name(key) && !secret.is_empty() && !is_reference(secret) {
            found.push((key, secret));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(name: &str, value: &str) -> Vec<(SecretKind, String)> {
        secret_literals(name, value)
            .into_iter()
            .map(|l| (l.kind, l.text))
            .collect()
    }

    #[test]
    fn names_in_any_case_style() {
        for name in [
            "DB_PASSWORD",
            "db.password",
            "api-token",
            "privateKey",
            "secretKey",
            "APIKey",
            "aws_access_key_id",
        ] {
            assert!(secret_like_name(name), "{name}");
        }
        for name in ["LOG_LEVEL", "POSTGRES_HOST", "username", "tokenizer_path_x"] {
            assert_eq!(secret_like_name(name), name.contains("token"), "{name}");
        }
    }

    #[test]
    fn urls_pem_blocks_and_lines() {
        assert_eq!(
            kinds(
                "DATABASE_URL",
                "postgresql+psycopg://mlflow:s3cr3t@db:5432/mlflow"
            ),
            [(SecretKind::UrlPassword, "s3cr3t".to_string())]
        );
        assert!(kinds("DATABASE_URL", "postgresql://$(USER):$(PASSWORD)@db/x").is_empty());
        assert!(kinds("URL", "https://host/x?a=b").is_empty());
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----";
        let text = format!("cert: x\n{pem}\ntail");
        assert_eq!(
            kinds("tls.txt", &text),
            [(SecretKind::PrivateKey, pem.to_string())]
        );
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert!(kinds("ca.crt", cert).is_empty());
        let props = "db.host=pg\ndb.password=hunter2\nexport API_TOKEN=\"tok-1\"\nsecret.ref: ${X}";
        let found = secret_literals("app.properties", props);
        assert_eq!(
            found
                .iter()
                .map(|l| (l.kind, l.key.as_deref(), l.text.as_str()))
                .collect::<Vec<_>>(),
            [
                (SecretKind::NamedLine, Some("db.password"), "hunter2"),
                (SecretKind::NamedLine, Some("API_TOKEN"), "tok-1"),
            ]
        );
    }

    #[test]
    fn references_and_empty_values_are_no_secrets() {
        assert!(secret_literals("DB_PASSWORD", "$(PG_PASSWORD)").is_empty());
        assert!(secret_literals("DB_PASSWORD", "${PG_PASSWORD}").is_empty());
        assert!(secret_literals("DB_PASSWORD", "  ").is_empty());
        assert_eq!(
            kinds("DB_PASSWORD", "x$(Y)"),
            [(SecretKind::Named, "x$(Y)".to_string())]
        );
        assert_eq!(url_password("redis://:pw@cache:6379"), Some("pw"));
    }
}
