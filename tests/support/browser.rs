//! A real browser for tests: Debian's headless Chromium, driven by `chromedriver` over
//! WebDriver (JSON on HTTP/1.1 on loopback) with a small synchronous client. Errors are panics;
//! a missing browser fails the test, it never skips it.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const INSTALL: &str = "install them with `apt-get install chromium chromium-driver` \
                       (or set DRIFTLESS_CHROMEDRIVER and DRIFTLESS_CHROMIUM)";
/// Bounds every request; longer than the session's own page-load and script timeouts (30 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One chromedriver with one headless Chromium session; both end when this is dropped.
pub struct Browser {
    driver: Child,
    watcher: Child,
    port: u16,
    session: String,
}

impl Browser {
    /// A desktop-sized window (1280x900).
    pub fn start() -> Browser {
        Browser::start_with_size(1280, 900)
    }

    /// A window of `width`x`height` (headless Chromium makes it at least 500 wide).
    pub fn start_with_size(width: u32, height: u32) -> Browser {
        Browser::launch(width, height, None)
    }

    /// A phone: a 390x844 viewport that is touch-enabled and honours `<meta name=viewport>`.
    pub fn start_mobile() -> Browser {
        let phone = json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0}});
        Browser::launch(390, 844, Some(phone))
    }

    fn launch(width: u32, height: u32, mobile_emulation: Option<Value>) -> Browser {
        let driver_path = chromedriver();
        let chromium = std::env::var_os("DRIFTLESS_CHROMIUM")
            .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
        assert!(
            chromium.is_file(),
            "no Chromium at {}: {INSTALL}",
            chromium.display()
        );
        let port = free_port();
        // A process group of its own, which Chromium joins: Drop ends them all at once.
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}; {INSTALL}", driver_path.display()));
        // And if this process dies undropped (killed at a timeout), a watcher in the group does.
        let group = driver.id();
        let watch = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; kill -KILL -{group}",
            std::process::id()
        );
        let watcher = Command::new("sh")
            .args(["-c", &watch])
            .stdin(Stdio::null())
            .process_group(group as i32)
            .spawn()
            .expect("start sh");
        let mut browser = Browser {
            driver,
            watcher,
            port,
            session: String::new(),
        };
        browser.wait_ready(&driver_path);
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            format!("--window-size={width},{height}"),
        ];
        let mut options = json!({"binary": chromium, "args": args});
        if let Some(emulation) = mobile_emulation {
            options["mobileEmulation"] = emulation;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "timeouts": {"pageLoad": 30_000, "script": 30_000},
        }}});
        let created = browser.request("POST", "/session", Some(&capabilities));
        let id = created["sessionId"]
            .as_str()
            .expect("WebDriver gave a session id");
        browser.session = id.to_string();
        browser
    }

    /// Polls chromedriver's `/status` for up to 20 s until it is ready.
    fn wait_ready(&mut self, path: &Path) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((_, status)) = http(self.port, "GET", "/status", None)
                && status["value"]["ready"] == true
            {
                return;
            }
            if let Ok(Some(exit)) = self.driver.try_wait() {
                panic!("{} exited ({exit}) before it was ready", path.display());
            }
            assert!(
                Instant::now() < deadline,
                "{} was not ready within 20 s",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Navigates to `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(&json!({ "url": url })));
    }

    /// The page's current DOM, as HTML.
    pub fn source(&self) -> String {
        let html = self.execute("return document.documentElement.outerHTML", &[]);
        html.as_str().unwrap_or_default().to_string()
    }

    /// The page's text, as a reader sees it (`document.body.innerText`).
    pub fn text(&self) -> String {
        let text = self.execute("return document.body ? document.body.innerText : ''", &[]);
        text.as_str().unwrap_or_default().to_string()
    }

    /// The text of every element that matches a CSS selector, in document order.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let script = "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText)";
        let texts = self.execute(script, &[json!(selector)]);
        serde_json::from_value(texts).expect("a list of texts")
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns what it returns.
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        let body = json!({ "script": script, "args": args });
        self.command("POST", "/execute/sync", Some(&body))
    }

    /// Polls `predicate` every 100 ms until it holds; after `timeout`, panics with `what` and
    /// the page's text.
    pub fn wait_for(&self, what: &str, timeout: Duration, predicate: impl Fn(&Browser) -> bool) {
        let deadline = Instant::now() + timeout;
        while !predicate(self) {
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; the page says:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG of the window to `path`.
    pub fn screenshot(&self, path: impl AsRef<Path>) {
        let encoded = self.command("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("a base64 screenshot"))
            .expect("a base64 screenshot");
        let path = path.as_ref();
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// A command of this session; its answer's `value`.
    fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.request(method, &format!("/session/{}{path}", self.session), body)
    }

    /// A WebDriver request; its answer's `value`, or a panic with WebDriver's error.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, mut answer) = http(self.port, method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let value = answer["value"].take();
        if !(200..300).contains(&status) {
            panic!(
                "WebDriver {method} {path}: HTTP {status}, {}: {}",
                value["error"].as_str().unwrap_or("no error code"),
                value["message"].as_str().unwrap_or("no message")
            );
        }
        value
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Chromium quits; chromedriver waits for it.
            let path = format!("/session/{}", self.session);
            let _ = http(self.port, "DELETE", &path, None);
        }
        // Then the whole group: chromedriver, the watcher, any Chromium process still there.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        for child in [&mut self.driver, &mut self.watcher] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `$DRIFTLESS_CHROMEDRIVER`, else `/usr/bin/chromedriver`, else `chromedriver` on PATH.
fn chromedriver() -> PathBuf {
    if let Some(path) = std::env::var_os("DRIFTLESS_CHROMEDRIVER") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("chromedriver"));
    std::iter::once(PathBuf::from("/usr/bin/chromedriver"))
        .chain(on_path)
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no chromedriver in /usr/bin or on PATH: {INSTALL}"))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("a local address").port()
}

/// One HTTP/1.1 exchange with chromedriver, bounded by `REQUEST_TIMEOUT`: status and JSON body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> io::Result<(u16, Value)> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let address = ([127, 0, 0, 1], port).into();
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // Read until the head and Content-Length bytes of body are in (or the server closes).
    let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
    let mut head: Option<(usize, Option<usize>)> = None;
    while head.is_none_or(|(start, length)| length.is_none_or(|n| buf.len() < start + n)) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in time"));
        }
        stream.set_read_timeout(Some(left))?;
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if head.is_none()
            && let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n")
        {
            let length = String::from_utf8_lossy(&buf[..end])
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    let is_length = name.trim().eq_ignore_ascii_case("content-length");
                    is_length.then(|| value.trim().parse().ok()).flatten()
                });
            head = Some((end + 4, length));
        }
    }
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let (start, length) = head.ok_or_else(|| bad("no HTTP head"))?;
    let status = String::from_utf8_lossy(&buf[..start])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no HTTP status"))?;
    let end = length.map_or(buf.len(), |n| (start + n).min(buf.len()));
    Ok((status, serde_json::from_slice(&buf[start..end])?))
}
