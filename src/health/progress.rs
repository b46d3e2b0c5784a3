//! What `--wait` shows on stderr while it waits: on a terminal, a block of lines redrawn in place
//! (which objects are still waiting, and why); elsewhere (CI logs, files), plain lines: one per
//! namespace when it ends, and every 10 s what is still pending. Never a line per poll.

use std::io::{IsTerminal as _, Write};
use std::time::Duration;

/// How often plain lines repeat what is still pending.
const LINES_EVERY: Duration = Duration::from_secs(10);
/// Most objects the terminal block names (the rest are counted).
const BLOCK_OBJECTS: usize = 8;
/// Most objects a plain pending line names.
const LINE_OBJECTS: usize = 5;
/// DEC auto-wrap mode off and on again.
const NO_WRAP: &str = "\x1b[?7l";
const WRAP: &str = "\x1b[?7h";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressStyle {
    /// A block redrawn in place (stderr is a terminal).
    Terminal,
    /// Plain lines.
    #[default]
    Lines,
    /// Nothing: the report says it all.
    Off,
}

impl ProgressStyle {
    /// Terminal when stderr is one, plain lines otherwise.
    pub fn for_stderr() -> ProgressStyle {
        if std::io::stderr().is_terminal() {
            ProgressStyle::Terminal
        } else {
            ProgressStyle::Lines
        }
    }
}

pub(super) struct Progress<W: Write> {
    style: ProgressStyle,
    out: W,
    timeout: Duration,
    /// Lines of the terminal block now on screen.
    drawn: usize,
    /// When plain lines last named what is pending.
    last_listed: Duration,
}

impl<W: Write> Progress<W> {
    pub(super) fn new(style: ProgressStyle, out: W, timeout: Duration) -> Progress<W> {
        Progress {
            style,
            out,
            timeout,
            drawn: 0,
            last_listed: Duration::ZERO,
        }
    }

    /// A line that stays: a namespace became healthy, or failed.
    pub(super) fn say(&mut self, line: &str) {
        if self.style == ProgressStyle::Off {
            return;
        }
        self.clear();
        let _ = writeln!(self.out, "wait: {line}");
        let _ = self.out.flush();
    }

    /// After each poll: the objects still in progress, each with why.
    pub(super) fn pending(&mut self, elapsed: Duration, pending: &[(String, String)]) {
        match self.style {
            ProgressStyle::Off => {}
            ProgressStyle::Terminal => self.redraw(elapsed, pending),
            ProgressStyle::Lines => {
                if pending.is_empty() || elapsed < self.last_listed + LINES_EVERY {
                    return;
                }
                self.last_listed = elapsed;
                let mut named: Vec<String> = pending
                    .iter()
                    .take(LINE_OBJECTS)
                    .map(|(id, why)| format!("{id} ({why})"))
                    .collect();
                if pending.len() > LINE_OBJECTS {
                    named.push(format!("and {} more", pending.len() - LINE_OBJECTS));
                }
                let _ = writeln!(
                    self.out,
                    "wait: {} in progress after {}: {}",
                    objects(pending.len()),
                    human(elapsed),
                    named.join(", ")
                );
                let _ = self.out.flush();
            }
        }
    }

    /// Leaves the screen with the lines that stay only.
    pub(super) fn finish(&mut self) {
        self.clear();
        let _ = self.out.flush();
    }

    /// Leaves the last block on screen: after a signal, its message may be below the block,
    /// and erasing by line count would erase the wrong lines.
    pub(super) fn keep(&mut self) {
        self.drawn = 0;
    }

    fn redraw(&mut self, elapsed: Duration, pending: &[(String, String)]) {
        self.clear();
        if pending.is_empty() {
            return;
        }
        let mut lines = vec![format!(
            "waiting for {} ({} of {}):",
            objects(pending.len()),
            human(elapsed),
            human(self.timeout)
        )];
        lines.extend(
            pending
                .iter()
                .take(BLOCK_OBJECTS)
                .map(|(id, why)| format!("  {id}: {why}")),
        );
        if pending.len() > BLOCK_OBJECTS {
            lines.push(format!("  ... and {} more", pending.len() - BLOCK_OBJECTS));
        }
        // Line wrapping off while drawing: the terminal clips a long line instead of wrapping
        // it, so the block is exactly as many rows as lines, and the redraw erases it all.
        let _ = write!(self.out, "{NO_WRAP}{}\n{WRAP}", lines.join("\n"));
        self.drawn = lines.len();
        let _ = self.out.flush();
    }

    /// Erases the block: up as many lines as it has, then to the end of the screen.
    fn clear(&mut self) {
        if self.drawn > 0 {
            let _ = write!(self.out, "\x1b[{}A\r\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }
}

pub(super) fn objects(n: usize) -> String {
    if n == 1 {
        "1 object".into()
    } else {
        format!("{n} objects")
    }
}

/// `250ms`, `12s`, `1m30s`, `5m`, `1h`.
pub(super) fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 && d.subsec_millis() > 0 {
        return format!("{}ms", d.subsec_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                (
                    format!("apps/v1 Deployment ns/web-{i}"),
                    "0/1 replicas available".into(),
                )
            })
            .collect()
    }

    #[test]
    fn plain_lines_name_what_is_pending_every_ten_seconds_only() {
        let mut p = Progress::new(ProgressStyle::Lines, Vec::new(), Duration::from_secs(60));
        for s in 0..25 {
            p.pending(Duration::from_secs(s), &pending(7));
        }
        p.say("namespace ns is healthy (7 objects)");
        let out = String::from_utf8(p.out.clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[0].starts_with("wait: 7 objects in progress after 10s: apps/v1 Deployment ns/web-0 (0/1 replicas available), "));
        assert!(lines[0].ends_with(", and 2 more"), "{out}");
        assert!(lines[1].contains("after 20s"));
        assert_eq!(lines[2], "wait: namespace ns is healthy (7 objects)");
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn a_terminal_block_is_redrawn_in_place_and_cleared_at_the_end() {
        let mut p = Progress::new(
            ProgressStyle::Terminal,
            Vec::new(),
            Duration::from_secs(300),
        );
        p.pending(Duration::from_secs(1), &pending(2));
        p.pending(Duration::from_secs(2), &pending(1));
        p.say("namespace ns is unhealthy");
        p.finish();
        let out = String::from_utf8(p.out.clone()).unwrap();
        assert!(out.starts_with("\x1b[?7lwaiting for 2 objects (1s of 5m):\n  apps/v1"));
        assert!(out.contains("0/1 replicas available\n\x1b[?7h"), "{out:?}");
        // Three lines drawn, erased before the next block; two erased before the line that stays.
        assert!(out.contains("\x1b[3A\r\x1b[J\x1b[?7lwaiting for 1 object (2s of 5m):"));
        assert!(out.ends_with("\x1b[2A\r\x1b[Jwait: namespace ns is unhealthy\n"));
    }

    #[test]
    fn durations_read_as_they_were_given() {
        assert_eq!(human(Duration::from_secs(300)), "5m");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::ZERO), "0s");
    }
}
