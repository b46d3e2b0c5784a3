//! Values decrypted from the source (SOPS), kept out of every output: each is registered when it
//! is decrypted, and every text that leaves the process (stdout, stderr, logs, the agent's
//! pages, Events) passes [`scrub`] on its way out. The plan masks Secrets by their shape; this
//! is the net under it, for the places shape does not reach (a server error quoting a value,
//! a value a chart copied into an annotation).
//!
//! A value is hidden as written, line by line when it has several lines, base64-encoded (as a
//! Secret's `data` holds it) and hex-encoded. Values shorter than [`MIN_LEN`] are not: they are
//! everywhere in ordinary text (`true`, `80`), and the plan masks them where they belong.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;

/// What every output shows in place of a secret value: the plan's masking, the renderers'
/// scrubbed errors and this module's scrubbing alike.
pub const MASK: &str = "***";

/// Shorter values are not searched for in free text.
pub const MIN_LEN: usize = 4;

#[derive(Default)]
struct Registry {
    forms: BTreeSet<String>,
    matcher: Option<Arc<AhoCorasick>>,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    forms: BTreeSet::new(),
    matcher: None,
});

/// Remembers decrypted values for the life of the process (a value rotated out of Git may
/// still be live in the cluster, and quoted back).
pub fn register<S: AsRef<str>>(values: impl IntoIterator<Item = S>) {
    let mut new: Vec<String> = values.into_iter().flat_map(|v| forms(v.as_ref())).collect();
    let Ok(mut registry) = REGISTRY.write() else {
        return;
    };
    new.retain(|f| !registry.forms.contains(f));
    if new.is_empty() {
        return;
    }
    registry.forms.extend(new);
    // Longest first among matches at one place, so a value holding another goes whole.
    registry.matcher = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(registry.forms.iter())
        .ok()
        .map(Arc::new);
}

/// `text` with every registered value replaced by `***`.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let matcher = match REGISTRY.read() {
        Ok(registry) => registry.matcher.clone(),
        // A writer panicked mid-update: hide everything rather than risk a value.
        Err(_) => return Cow::Owned(MASK.to_string()),
    };
    match matcher {
        Some(m) if m.is_match(text) => {
            Cow::Owned(m.replace_all(text, &vec![MASK; m.patterns_len()]))
        }
        _ => Cow::Borrowed(text),
    }
}

/// Bytes on their way out: scrubbed when they are text, else as they are.
pub fn scrub_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Cow::Borrowed(bytes);
    };
    match scrub(text) {
        Cow::Borrowed(_) => Cow::Borrowed(bytes),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// Whether anything is registered (the agent's tests ask, to know a scrub can bite).
pub fn active() -> bool {
    REGISTRY.read().is_ok_and(|r| r.matcher.is_some())
}

/// Every form of `value` a text may hold.
fn forms(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |s: String| {
        if s.trim().len() >= MIN_LEN {
            out.push(s);
        }
    };
    push(value.to_string());
    if value.contains('\n') {
        value
            .lines()
            .map(str::trim)
            .for_each(|l| push(l.to_string()));
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(value);
    push(b64.trim_end_matches('=').to_string());
    push(b64);
    push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value));
    let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    push(hex.to_uppercase());
    push(hex);
    out
}

/// A `std::io::Write` that scrubs what passes through it (the log's writer). Each log event
/// is formatted whole and written in one call, so a value is never split across writes.
pub struct Scrubbed<W>(pub W);

impl<W: std::io::Write> std::io::Write for Scrubbed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(&scrub_bytes(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A `std::io::Write` for one long text written in pieces (a report streamed to stdout),
/// scrubbed as that text would be whole although a value may be split across writes: it holds
/// back the bytes a value could still be starting in (the longest form, less one) until more
/// come. `flush` ends the text: what is held back goes out.
pub struct ScrubbedStream<W: std::io::Write> {
    out: W,
    pending: Vec<u8>,
}

/// How much a stream gathers before it scrubs and writes.
const STREAM_CHUNK: usize = 64 * 1024;

impl<W: std::io::Write> ScrubbedStream<W> {
    pub fn new(out: W) -> ScrubbedStream<W> {
        ScrubbedStream {
            out,
            pending: Vec::with_capacity(STREAM_CHUNK),
        }
    }

    /// Writes out what is pending, all of it or only what no value can reach past.
    fn drain(&mut self, all: bool) -> std::io::Result<()> {
        let matcher = REGISTRY.read().ok().and_then(|r| r.matcher.clone());
        let Self { out, pending } = self;
        let Some(m) = matcher else {
            out.write_all(pending)?;
            pending.clear();
            return Ok(());
        };
        // A match starting before `cut` ends within what is here, whatever comes next.
        let cut = match all {
            true => pending.len(),
            false => pending
                .len()
                .saturating_sub(m.max_pattern_len().saturating_sub(1)),
        };
        let mut pos = 0;
        for found in m.find_iter(pending.as_slice()) {
            if found.start() >= cut {
                break;
            }
            out.write_all(&pending[pos..found.start()])?;
            out.write_all(MASK.as_bytes())?;
            pos = found.end();
        }
        let done = pos.max(cut);
        out.write_all(&pending[pos..done])?;
        pending.drain(..done);
        Ok(())
    }
}

impl<W: std::io::Write> std::io::Write for ScrubbedStream<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= STREAM_CHUNK {
            self.drain(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.drain(true)?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_value_is_hidden_and_short_ones_are_left() {
        register(["s3cr3t-pa55", "ab", "line-one-x\nline-two-y"]);
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t-pa55");
        let hex: String = "s3cr3t-pa55".bytes().map(|b| format!("{b:02x}")).collect();
        let text = format!("pw=s3cr3t-pa55 b64={b64} hex={hex} ab line-two-y");
        assert_eq!(scrub(&text), "pw=*** b64=*** hex=*** ab ***");
        assert!(matches!(scrub("nothing here"), Cow::Borrowed(_)));
        let bytes = scrub_bytes(b"x s3cr3t-pa55");
        assert_eq!(&*bytes, b"x ***");
        assert!(active());
    }

    #[test]
    fn a_value_holding_another_goes_whole() {
        register(["tok3n", "tok3n-and-more"]);
        assert_eq!(scrub("a tok3n-and-more b tok3n"), "a *** b ***");
    }

    #[test]
    fn the_log_writer_scrubs() {
        register(["w-r-i-t-e-r"]);
        let mut out = Scrubbed(Vec::new());
        std::io::Write::write_all(&mut out, b"value w-r-i-t-e-r\n").unwrap();
        assert_eq!(out.0, b"value ***\n");
    }

    #[test]
    fn a_stream_hides_values_split_across_writes_and_chunks() {
        register(["str3am-v4lue", "str3am-v4lue-longer"]);
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(if i % 7 == 0 {
                "str3am-v4lue-longer "
            } else {
                "str3am-v4lue, "
            });
        }
        // Written in pieces of every size, so values straddle writes and 64 KiB chunks.
        for piece in [1, 5, 13, 4096, 70_000] {
            let mut out = ScrubbedStream::new(Vec::new());
            for bytes in text.as_bytes().chunks(piece) {
                std::io::Write::write_all(&mut out, bytes).unwrap();
            }
            std::io::Write::flush(&mut out).unwrap();
            assert_eq!(
                String::from_utf8(out.out).unwrap(),
                scrub(&text),
                "pieces of {piece}"
            );
        }
        assert!(!scrub(&text).contains("v4lue"));
    }
}
