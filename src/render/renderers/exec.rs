//! Runs a renderer: a scrubbed environment (no credentials, no kubeconfig, a throwaway HOME),
//! no network unless asked, a deadline, and a cap on what it may print.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// Most of a renderer's error output kept: its message is at the start.
const STDERR_CAP: usize = 64 << 10;
/// An address nothing listens on: a fetch the renderer tries without leave fails at once.
const NO_PROXY_HERE: &str = "http://127.0.0.1:9";
/// Variables passed through when remote bases are allowed: how to reach the network, nothing
/// that authenticates.
const NETWORK_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// One run of a renderer.
pub struct Run<'a> {
    pub program: &'a Path,
    pub args: Vec<OsString>,
    pub cwd: &'a Path,
    /// A fresh empty folder: HOME, the XDG and Helm folders, TMPDIR.
    pub home: &'a Path,
    pub network: bool,
    pub timeout: Duration,
    pub max_output: u64,
    /// What it reads on stdin (decrypted values: never written to a file).
    pub stdin: Option<Vec<u8>>,
}

#[derive(Debug)]
pub enum ExecError {
    Start(std::io::Error),
    TimedOut(Duration),
    TooLarge(u64),
    /// It ran and failed: its exit status and what it said.
    Failed(String),
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::Start(e) => write!(f, "cannot start: {e}"),
            ExecError::TimedOut(t) => {
                write!(f, "no result within {}s (--render-timeout)", t.as_secs())
            }
            ExecError::TooLarge(cap) => {
                write!(f, "printed more than {cap} bytes (--max-total-size)")
            }
            ExecError::Failed(message) => f.write_str(message),
        }
    }
}

/// The renderer's stdout, or why there is none.
pub async fn run(run: Run<'_>) -> Result<Vec<u8>, ExecError> {
    let mut command = Command::new(run.program);
    command
        .args(&run.args)
        .current_dir(run.cwd)
        .env_clear()
        .envs(environment(run.home, run.network))
        .stdin(match run.stdin {
            Some(_) => Stdio::piped(),
            None => Stdio::null(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout ends what it started too (git, for remote bases).
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(ExecError::Start)?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ExecError::Failed("no output pipes".into()));
    };
    let feed = feed(child.stdin.take(), run.stdin);
    let io = async {
        let (_, out, err) = tokio::try_join!(
            feed,
            read_capped(stdout, run.max_output),
            drain(stderr, STDERR_CAP)
        )?;
        Ok((out, err))
    };
    let outcome = match tokio::time::timeout(run.timeout, io).await {
        Err(_) => Err(ExecError::TimedOut(run.timeout)),
        Ok(Err(e)) => Err(e),
        Ok(Ok(read)) => Ok(read),
    };
    let (stdout, stderr) = match outcome {
        Ok(read) => read,
        Err(e) => {
            kill_group(child.id());
            let _ = child.kill().await;
            return Err(e);
        }
    };
    // Both pipes closed: it is exiting.
    let status = match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
        Ok(status) => status.map_err(ExecError::Start)?,
        Err(_) => {
            kill_group(child.id());
            let _ = child.kill().await;
            return Err(ExecError::TimedOut(run.timeout));
        }
    };
    if status.success() {
        return Ok(stdout);
    }
    let said = String::from_utf8_lossy(&stderr);
    // helm's hint names a flag of its own, which driftless has not.
    let said: Vec<&str> = said
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Use --debug flag"))
        .collect();
    let said = said.join("\n");
    let status = match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_string(),
    };
    Err(ExecError::Failed(match said.is_empty() {
        true => status,
        false => format!("{said} ({status})"),
    }))
}

/// PATH, and folders of its own for everything a renderer keeps: no variable of ours (tokens,
/// KUBECONFIG, cloud credentials, SSH agents) reaches it.
fn environment(home: &Path, network: bool) -> Vec<(OsString, OsString)> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), path),
        ("HOME".into(), home.as_os_str().to_owned()),
    ];
    for (name, sub) in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_DATA_HOME", "data"),
        ("HELM_CONFIG_HOME", "config/helm"),
        ("HELM_CACHE_HOME", "cache/helm"),
        ("HELM_DATA_HOME", "data/helm"),
        ("HELM_PLUGINS", "data/helm/no-plugins"),
        ("KUSTOMIZE_PLUGIN_HOME", "config/kustomize/no-plugins"),
        ("TMPDIR", "tmp"),
    ] {
        env.push((name.into(), home.join(sub).into_os_string()));
    }
    env.push(("GIT_TERMINAL_PROMPT".into(), "0".into()));
    env.push(("GIT_CONFIG_NOSYSTEM".into(), "1".into()));
    if network {
        for name in NETWORK_VARS {
            if let Some(value) = std::env::var_os(name) {
                env.push((name.into(), value));
            }
        }
    } else {
        for name in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            "ALL_PROXY",
        ] {
            env.push((name.into(), NO_PROXY_HERE.into()));
        }
    }
    env
}

/// Writes `input` to the renderer's stdin and closes it. A renderer that exits without reading
/// it all is not an error here: its exit status says what happened.
async fn feed(
    stdin: Option<tokio::process::ChildStdin>,
    input: Option<Vec<u8>>,
) -> Result<(), ExecError> {
    use tokio::io::AsyncWriteExt;
    if let (Some(mut stdin), Some(input)) = (stdin, input) {
        let _ = stdin.write_all(&input).await;
        let _ = stdin.shutdown().await;
    }
    Ok(())
}

async fn read_capped(mut from: impl AsyncRead + Unpin, cap: u64) -> Result<Vec<u8>, ExecError> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = from.read(&mut chunk).await.map_err(ExecError::Start)?;
        if n == 0 {
            return Ok(out);
        }
        if (out.len() + n) as u64 > cap {
            return Err(ExecError::TooLarge(cap));
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Reads to the end (a renderer blocked on a full pipe would never exit), keeping the start.
async fn drain(mut from: impl AsyncRead + Unpin, keep: usize) -> Result<Vec<u8>, ExecError> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 16 << 10];
    loop {
        let n = from.read(&mut chunk).await.map_err(ExecError::Start)?;
        if n == 0 {
            return Ok(out);
        }
        let room = keep.saturating_sub(out.len()).min(n);
        out.extend_from_slice(&chunk[..room]);
    }
}

/// Ends the renderer's process group (best effort: the group is ours, as its leader is).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, home: &Path, timeout: Duration, max_output: u64) -> Run<'static> {
        let home: &'static Path = Box::leak(home.to_path_buf().into_boxed_path());
        Run {
            program: Path::new("/bin/sh"),
            args: vec!["-c".into(), script.into()],
            cwd: home,
            home,
            network: false,
            timeout,
            max_output,
            stdin: None,
        }
    }

    #[tokio::test]
    async fn environment_is_scrubbed_and_home_is_ours() {
        let tmp = tempfile::tempdir().unwrap();
        let out = run(sh("env", tmp.path(), Duration::from_secs(10), 1 << 20))
            .await
            .unwrap();
        let env = String::from_utf8(out).unwrap();
        assert!(
            env.contains(&format!("HOME={}\n", tmp.path().display())),
            "{env}"
        );
        assert!(env.contains("HTTPS_PROXY=http://127.0.0.1:9"), "{env}");
        for name in ["KUBECONFIG", "DRIFTLESS_", "USER=", "CARGO"] {
            assert!(!env.contains(name), "{name} leaked: {env}");
        }
    }

    #[tokio::test]
    async fn failures_timeouts_and_output_caps() {
        let tmp = tempfile::tempdir().unwrap();
        let err = run(sh(
            "echo broken >&2; exit 3",
            tmp.path(),
            Duration::from_secs(10),
            100,
        ))
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "broken (exit code 3)");
        let err = run(sh("sleep 30", tmp.path(), Duration::from_millis(200), 100))
            .await
            .unwrap_err();
        assert!(matches!(err, ExecError::TimedOut(_)), "{err}");
        let err = run(sh("yes", tmp.path(), Duration::from_secs(10), 1000))
            .await
            .unwrap_err();
        assert!(matches!(err, ExecError::TooLarge(1000)), "{err}");
    }

    #[tokio::test]
    async fn stdin_is_fed_and_closed() {
        let tmp = tempfile::tempdir().unwrap();
        let mut run_cat = sh("cat", tmp.path(), Duration::from_secs(10), 1 << 20);
        run_cat.stdin = Some(b"from stdin".to_vec());
        assert_eq!(run(run_cat).await.unwrap(), b"from stdin");
        // One that never reads it still ends.
        let mut ignores = sh("echo done", tmp.path(), Duration::from_secs(10), 1 << 20);
        ignores.stdin = Some(vec![b'x'; 1 << 20]);
        assert_eq!(run(ignores).await.unwrap(), b"done\n");
    }
}
