use super::*;

/// GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
const GITHUB_SECRET: &[u8] = b"It's a Secret to Everybody";
const GITHUB_BODY: &[u8] = b"Hello, World!";
const GITHUB_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

#[test]
fn github_signatures_match_githubs_own_example() {
    let signed = [("X-Hub-Signature-256", GITHUB_SIGNATURE)];
    assert_eq!(
        verify(
            Provider::GitHub,
            GITHUB_SECRET,
            headers(&signed),
            GITHUB_BODY
        ),
        Ok(Call::Fetch)
    );
    let ping = [
        ("X-Hub-Signature-256", GITHUB_SIGNATURE),
        ("X-GitHub-Event", "ping"),
    ];
    assert_eq!(
        verify(Provider::GitHub, GITHUB_SECRET, headers(&ping), GITHUB_BODY),
        Ok(Call::Ping)
    );
}

#[test]
fn a_changed_body_secret_or_signature_is_refused() {
    let signed = [("X-Hub-Signature-256", GITHUB_SIGNATURE)];
    let refused = |secret: &[u8], body: &[u8], h: &[(&str, &str)]| {
        verify(Provider::GitHub, secret, headers(h), body)
    };
    assert_eq!(
        refused(GITHUB_SECRET, b"Hello, World?", &signed),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        refused(b"another secret", GITHUB_BODY, &signed),
        Err(Refusal::BadSignature)
    );
    for bad in [
        "sha256=",
        "sha256=zz",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
    ] {
        assert_eq!(
            refused(GITHUB_SECRET, GITHUB_BODY, &[("X-Hub-Signature-256", bad)]),
            Err(Refusal::BadSignature),
            "{bad}"
        );
    }
    assert_eq!(
        refused(GITHUB_SECRET, GITHUB_BODY, &[]),
        Err(Refusal::Unsigned("X-Hub-Signature-256"))
    );
}

#[test]
fn gitlab_compares_the_token_and_generic_signs_like_github() {
    let token = [("X-Gitlab-Token", "s3cret")];
    assert_eq!(
        verify(Provider::GitLab, b"s3cret", headers(&token), b"{}"),
        Ok(Call::Fetch)
    );
    for wrong in ["s3cre", "s3crett", ""] {
        let h = [("X-Gitlab-Token", wrong)];
        assert_eq!(
            verify(Provider::GitLab, b"s3cret", headers(&h), b"{}"),
            Err(Refusal::BadSignature)
        );
    }
    let generic = [("X-Signature", GITHUB_SIGNATURE)];
    assert_eq!(
        verify(
            Provider::Generic,
            GITHUB_SECRET,
            headers(&generic),
            GITHUB_BODY
        ),
        Ok(Call::Fetch)
    );
    // A GitHub header does not sign a generic hook.
    let github = [("X-Hub-Signature-256", GITHUB_SIGNATURE)];
    assert_eq!(
        verify(
            Provider::Generic,
            GITHUB_SECRET,
            headers(&github),
            GITHUB_BODY
        ),
        Err(Refusal::Unsigned("X-Signature"))
    );
}

#[test]
fn what_sign_makes_verifies_as_a_generic_call() {
    assert_eq!(sign(GITHUB_SECRET, GITHUB_BODY), GITHUB_SIGNATURE);
    let signature = sign(b"k", b"body");
    let h = [("X-Signature", signature.as_str())];
    assert_eq!(
        verify(Provider::Generic, b"k", headers(&h), b"body"),
        Ok(Call::Fetch)
    );
}

#[test]
fn the_rate_limit_allows_a_burst_then_one_per_period() {
    let start = Instant::now();
    let mut limit = RateLimit::new(3, Duration::from_secs(2), start);
    for _ in 0..3 {
        assert_eq!(limit.take(start), Ok(()));
    }
    let wait = limit.take(start).unwrap_err();
    assert_eq!(wait, Duration::from_secs(2));
    assert!(limit.take(start + Duration::from_secs(1)).is_err());
    assert_eq!(limit.take(start + Duration::from_secs(2)), Ok(()));
    // Idle time refills up to the burst, not beyond.
    let later = start + Duration::from_secs(600);
    for _ in 0..3 {
        assert_eq!(limit.take(later), Ok(()));
    }
    assert!(limit.take(later).is_err());
}
