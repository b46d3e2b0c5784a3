//! The agent as a process on this machine (with the test cluster's kubeconfig), and what tests
//! ask of its HTTP endpoints: plain HTTP/1.0 over a socket, and an OpenMetrics check.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::cluster;

pub struct AgentProcess {
    child: Child,
    pub port: u16,
    /// Where `POST /hook/<set>` is served.
    pub hook_port: u16,
    pub identity: String,
    log: std::path::PathBuf,
}

impl AgentProcess {
    /// Starts `driftless agent --config CONFIG` as `identity`, logging to a file in `dir`.
    pub fn start(config: &Path, identity: &str, dir: &Path) -> AgentProcess {
        AgentProcess::start_on(&cluster().kubeconfig, config, identity, dir)
    }

    /// As [`AgentProcess::start`], logging at `-vv` (debug, and trace for driftless).
    pub fn start_verbose(config: &Path, identity: &str, dir: &Path) -> AgentProcess {
        AgentProcess::spawn(&cluster().kubeconfig, config, identity, dir, &["-vv"])
    }

    /// As [`AgentProcess::start`], on the cluster of `kubeconfig` (a private control plane).
    pub fn start_on(kubeconfig: &Path, config: &Path, identity: &str, dir: &Path) -> AgentProcess {
        AgentProcess::spawn(kubeconfig, config, identity, dir, &[])
    }

    fn spawn(
        kubeconfig: &Path,
        config: &Path,
        identity: &str,
        dir: &Path,
        extra: &[&str],
    ) -> AgentProcess {
        let (port, hook_port) = (free_port(), free_port());
        let hook_listen = format!("127.0.0.1:{hook_port}");
        let log = dir.join(format!("{identity}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let listen = format!("127.0.0.1:{port}");
        let (config, cache) = (
            config.to_string_lossy(),
            dir.join(format!("{identity}-cache")),
        );
        let cache = cache.to_string_lossy();
        let mut args = vec![
            "agent",
            "--config",
            &config,
            "--listen",
            &listen,
            "--hook-listen",
            &hook_listen,
            "--identity",
            identity,
            "--cache-dir",
            &cache,
        ];
        args.extend_from_slice(extra);
        let child = super::command(kubeconfig, &args, &[])
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start the agent");
        AgentProcess {
            child,
            port,
            hook_port,
            identity: identity.into(),
            log,
        }
    }

    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.port, path)
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        http_post(self.hook_port, path, headers, body)
            .unwrap_or_else(|| panic!("POST {path}: no answer\n{}", self.log()))
    }

    /// The body of a 200 answer to `path`, panicking otherwise.
    pub fn body(&self, path: &str) -> String {
        match self.get(path) {
            Some((200, body)) => body,
            other => panic!("GET {path}: {other:?}\n{}", self.log()),
        }
    }

    /// `/report` as JSON.
    pub fn report(&self) -> serde_json::Value {
        serde_json::from_str(&self.body("/report")).expect("report is JSON")
    }

    pub async fn wait_ready(&self) {
        let ready =
            super::eventually(|| async { matches!(self.get("/readyz"), Some((200, _))) }).await;
        assert!(
            ready,
            "{} never became ready:\n{}",
            self.identity,
            self.log()
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to `within` for the exit.
    pub fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        signal(self.child.id(), "TERM");
        self.wait(within)
    }

    /// SIGKILL: a crash, as far as the Lease is concerned.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait(&mut self, within: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {pid}");
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A GET over HTTP/1.0: (status, body), or `None` when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    exchange(port, request.as_bytes(), Duration::from_secs(5))
}

/// A POST over HTTP/1.0 with `headers`: (status, body), or `None` when nothing answers.
pub fn http_post(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut request = format!(
        "POST {path} HTTP/1.0\r\nHost: localhost\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    exchange(port, &request, Duration::from_secs(10))
}

/// Sends one request and reads the whole answer: (status, body).
fn exchange(port: u16, request: &[u8], timeout: Duration) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.write_all(request).ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// Checks `text` is an OpenMetrics exposition: `# TYPE`/`# HELP` before each family's samples,
/// every sample `name{labels} value` with a known family and a number, and `# EOF` last.
/// Returns the samples as (name with labels, value).
pub fn parse_openmetrics(text: &str) -> Vec<(String, f64)> {
    assert!(text.ends_with("# EOF\n"), "no # EOF at the end:\n{text}");
    let mut families: Vec<(String, String)> = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert_contains!(
                ["counter", "gauge", "histogram", "info", "unknown"],
                kind,
                "unknown type {kind}: {line}"
            );
            families.push((name.to_string(), kind.to_string()));
            continue;
        }
        if line.starts_with("# HELP ") || line.starts_with("# UNIT ") {
            continue;
        }
        assert!(!line.starts_with('#'), "stray comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let name = series.split('{').next().unwrap_or(series);
        assert!(name.starts_with("driftless_"), "not driftless_: {line}");
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "bad labels: {line}"
            );
        }
        let family = families.last().map(|(f, _)| f.clone()).unwrap_or_default();
        assert!(
            name == family
                || ["_total", "_bucket", "_sum", "_count", "_created"]
                    .iter()
                    .any(|s| name.strip_suffix(s) == Some(family.as_str())),
            "sample {name} outside its family {family}"
        );
        samples.push((series.to_string(), value));
    }
    samples
}

/// The value of the first sample whose series starts with `prefix` and contains every label.
pub fn sample(samples: &[(String, f64)], name: &str, labels: &[&str]) -> Option<f64> {
    samples
        .iter()
        .find(|(series, _)| {
            series.split('{').next() == Some(name) && labels.iter().all(|l| series.contains(l))
        })
        .map(|(_, v)| *v)
}
