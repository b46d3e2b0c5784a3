//! Where the binary prints: data on stdout through one writer, talk on stderr, both scrubbed of
//! decrypted values ([`crate::redact`]). A reader that stops reading (`| head`) ends the output,
//! never the run: the rest is dropped quietly, as a Unix tool does, and the caller can ask
//! whether to go on producing any.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout's reader has gone: nothing more is written there.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it (a watch's pass must show before the next one). A
/// closed pipe is the end of output, not an error; any other failure (a full disk) is.
pub fn print(text: &str) -> io::Result<()> {
    write_to(&mut io::stdout().lock(), text)
}

/// Streams to stdout what `write` writes (a report too large to build as one text first),
/// scrubbed as [`print()`] scrubs, and as quiet about a reader that left.
pub fn print_with(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    if closed() {
        return Ok(());
    }
    let mut out = crate::redact::ScrubbedStream::new(io::stdout().lock());
    let written = write(&mut out).and_then(|()| out.flush());
    ended(written)
}

/// Writes `text` to stdout as it is, decrypted values included: `render --show-secrets` only.
pub fn print_secrets(text: &str) -> io::Result<()> {
    write_raw(&mut io::stdout().lock(), text)
}

/// Whether stdout's reader has gone (`| head` read what it wanted).
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Writes `text` to stderr. Talk that cannot be written (stderr piped into a reader that left)
/// is dropped: it must not stop a run that is writing to the cluster.
pub fn talk(text: &str) {
    let text = crate::redact::scrub(text);
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// Streams to stderr what `write` writes (a summary with thousands of findings), scrubbed as
/// [`talk`] scrubs; as with `talk`, what cannot be written is dropped.
pub fn talk_with(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) {
    let mut err = crate::redact::ScrubbedStream::new(io::stderr().lock());
    let _ = write(&mut err).and_then(|()| err.flush());
}

fn write_to(out: &mut impl Write, text: &str) -> io::Result<()> {
    write_raw(out, &crate::redact::scrub(text))
}

fn write_raw(out: &mut impl Write, text: &str) -> io::Result<()> {
    if closed() || text.is_empty() {
        return Ok(());
    }
    ended(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// The end of a write to stdout: a closed pipe ends the output, any other failure is one.
fn ended(written: io::Result<()>) -> io::Result<()> {
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot write to stdout: {e}"),
        )),
        Ok(()) => Ok(()),
    }
}

/// `eprintln!` that never panics: a line of talk on stderr.
#[macro_export]
macro_rules! talk {
    ($($arg:tt)*) => {
        $crate::cli::output::talk(&format!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone after `room` bytes.
    struct Pipe {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_ends_the_output_quietly_and_other_errors_stay_errors() {
        let mut pipe = Pipe {
            room: 3,
            written: Vec::new(),
        };
        assert!(!closed());
        write_to(&mut pipe, "abcdef").unwrap();
        assert_eq!(pipe.written, b"abc");
        assert!(closed(), "the closed pipe is remembered");
        pipe.room = 10;
        write_to(&mut pipe, "more").unwrap();
        assert_eq!(
            pipe.written, b"abc",
            "nothing is written after the reader left"
        );
        CLOSED.store(false, Ordering::Relaxed);

        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("no space left on device"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert!(write_to(&mut Full, "x").is_err());
        assert!(!closed());
    }
}
