//! Git URLs: which strings are Git sources, and how they print without credentials.
#![no_main]

use driftless::source::git::{GitUrl, redact};
use libfuzzer_sys::fuzz_target;

/// No URL in the text still carries userinfo (`user:token@`) after `://`.
fn assert_no_userinfo(text: &str) {
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '/' || c == '\'' || c == '"')
            .unwrap_or(rest.len());
        assert!(!rest[..end].contains('@'), "userinfo left in {text:?}");
        rest = &rest[end..];
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let redacted = redact(&text);
    assert_no_userinfo(&redacted);
    assert_eq!(redact(&redacted), redacted, "redact is not idempotent");
    let Some(url) = GitUrl::parse(&text) else {
        return;
    };
    let _ = url.username();
    assert_eq!(url.as_str(), text);
    assert_eq!(url.to_string(), url.redacted());
    assert_eq!(url.redacted(), redacted);
    assert_eq!(format!("{url:?}"), format!("GitUrl({redacted})"));
    // The printed form is still the same kind of source.
    let again = GitUrl::parse(&redacted).map(|u| u.transport());
    assert_eq!(again, Some(url.transport()), "{redacted:?}");
});
