//! Running driftless into a fault: the fault lands as the run logs a given step, and the run's
//! output is kept for the checks.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{self, Run};

/// A run that met a fault, and how long it went on after the fault.
pub struct Faulted {
    pub run: Run,
    pub after_fault: Duration,
}

/// Runs driftless with `-v`; as soon as a line of its log contains `trigger`, calls `fault`
/// with its pid. The fault must happen: a run that never logs `trigger` fails the test.
pub fn run_with_fault(
    kubeconfig: &Path,
    args: &[&str],
    trigger: &str,
    fault: impl FnOnce(u32),
) -> Faulted {
    let mut args = args.to_vec();
    args.push("-v");
    let mut child = support::command(kubeconfig, &args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn driftless");
    let mut stdout = child.stdout.take().expect("stdout");
    let out_reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let mut stderr = String::new();
    let mut fault = Some(fault);
    let mut faulted_at = None;
    for line in BufReader::new(child.stderr.take().expect("stderr")).lines() {
        let line = line.unwrap_or_default();
        if faulted_at.is_none() && line.contains(trigger) {
            if let Some(f) = fault.take() {
                f(child.id());
            }
            faulted_at = Some(Instant::now());
        }
        stderr.push_str(&line);
        stderr.push('\n');
    }
    let status = child.wait().expect("wait for driftless");
    let stdout = out_reader.join().unwrap_or_default();
    let faulted_at = faulted_at.unwrap_or_else(|| {
        panic!("the run never logged {trigger:?}: no fault injected\n{stdout}{stderr}")
    });
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    };
    eprintln!(
        "$ driftless {} (fault at {trigger:?})\n-> exit {} {:.1}s after the fault\n{}{}",
        args.join(" "),
        run.code,
        faulted_at.elapsed().as_secs_f32(),
        run.stdout,
        tail(&run.stderr, 30)
    );
    Faulted {
        after_fault: faulted_at.elapsed(),
        run,
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n") + "\n"
}

/// Lines of driftless's own log at error level: one per cause, never one per object.
pub fn error_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.contains(" ERROR "))
        .collect()
}

pub fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pid}");
}

/// (applied, pruned, not attempted) of an interrupted run.
pub type Interrupted = (usize, usize, usize);

/// The counts of its `interrupted: N applied, M pruned, K not attempted` line.
pub fn interrupted_line(run: &Run) -> Interrupted {
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("interrupted: "))
        .unwrap_or_else(|| panic!("no interrupted line:\n{}", tail(&run.stderr, 20)));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    match numbers[..] {
        [a, p, n] => (a, p, n),
        _ => panic!("unreadable: {line}"),
    }
}
