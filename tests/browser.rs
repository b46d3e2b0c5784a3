//! The browser harness itself (`support::browser`) against a tiny page of our own: no cluster.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::browser::Browser;

/// The page: a heading, a list, and a value its own script polls `/value` for.
const PAGE: &str = r#"<!doctype html>
<html><head><title>harness</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<h1>Browser harness</h1>
<ul><li class="item">alpha</li><li class="item">beta</li></ul>
<p>value: <span id=v>VALUE</span></p>
<script>
async function poll() {
  try { document.getElementById('v').textContent = await (await fetch('/value')).text(); }
  catch (e) {}
  setTimeout(poll, 100);
}
setTimeout(poll, 100);
</script>
</body></html>
"#;

/// A server for `PAGE` on 127.0.0.1; the test sets the value it shows.
struct Site {
    url: String,
    value: Arc<AtomicUsize>,
}

impl Site {
    fn start() -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("address"));
        let value = Arc::new(AtomicUsize::new(0));
        let shared = value.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let value = shared.clone();
                std::thread::spawn(move || answer(stream, &value));
            }
        });
        Site { url, value }
    }
}

/// One request, one answer, then the connection closes.
fn answer(mut stream: TcpStream, value: &AtomicUsize) {
    let (mut head, mut buf) = (Vec::new(), [0u8; 4096]);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let value = value.load(Ordering::SeqCst).to_string();
    let (content_type, body) = match path {
        "/" => ("text/html", PAGE.replace("VALUE", &value)),
        "/value" => ("text/plain", value),
        _ => ("text/plain", String::new()),
    };
    let status = if body.is_empty() {
        "404 Not Found"
    } else {
        "200 OK"
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[test]
fn reads_the_page_text_and_a_selectors_texts() {
    let site = Site::start();
    let browser = Browser::start();
    browser.goto(&site.url);
    let text = browser.text();
    assert!(text.contains("Browser harness"), "{text}");
    assert!(text.contains("value: 0"), "{text}");
    assert_eq!(browser.texts("li.item"), ["alpha", "beta"]);
    assert!(browser.texts("table").is_empty());
    let source = browser.source();
    assert!(source.contains(r#"<span id="v">0</span>"#), "{source}");
    assert_eq!(browser.execute("return 1 + 2", &[]), json!(3));
    let doubled = browser.execute("return arguments[0] * 2", &[json!(21)]);
    assert_eq!(doubled, json!(42));
}

#[test]
fn sees_the_pages_own_script_update_the_dom() {
    let site = Site::start();
    let browser = Browser::start();
    browser.goto(&site.url);
    assert_eq!(browser.texts("#v"), ["0"]);
    site.value.store(7, Ordering::SeqCst);
    let started = Instant::now();
    let seven = |b: &Browser| b.texts("#v") == ["7"];
    browser.wait_for("the span to show 7", Duration::from_secs(10), seven);
    eprintln!(
        "the page showed the new value after {:?}",
        started.elapsed()
    );
    assert!(browser.text().contains("value: 7"));
}

#[test]
#[should_panic(expected = "waiting for a value the page never shows")]
fn wait_for_panics_with_what_it_waited_for() {
    let site = Site::start();
    let browser = Browser::start();
    browser.goto(&site.url);
    let never = |b: &Browser| b.texts("#v") == ["never"];
    browser.wait_for(
        "a value the page never shows",
        Duration::from_millis(500),
        never,
    );
}

#[test]
fn screenshot_is_a_png() {
    let site = Site::start();
    let browser = Browser::start();
    browser.goto(&site.url);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("page.png");
    browser.screenshot(&path);
    let png = std::fs::read(&path).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 1000, "a PNG of {} bytes", png.len());
}

#[test]
fn phone_window_is_narrow() {
    let site = Site::start();
    let browser = Browser::start_mobile();
    browser.goto(&site.url);
    let width = browser.execute("return window.innerWidth", &[]);
    let width = width.as_u64().expect("a width");
    assert!(width < 500, "window.innerWidth is {width}");
}
