//! Local endpoints that are not a working API server: one that answers every request with a
//! fixed HTTP answer (a web server's 404 page), one that accepts connections and never says a
//! word, and a kubeconfig pointing at either.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub enum Reply {
    /// Accepts, reads, never answers (a frozen process).
    Silent,
    /// Answers every request with this status line (`404 Not Found`), content type and body.
    Http(&'static str, &'static str, &'static str),
}

/// A listener on 127.0.0.1, served by threads until the test process ends.
pub struct Endpoint {
    pub port: u16,
}

impl Endpoint {
    pub fn start(reply: Reply) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let reply = std::sync::Arc::new(reply);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let reply = reply.clone();
                std::thread::spawn(move || serve(stream, &reply));
            }
        });
        Endpoint { port }
    }

    /// A kubeconfig in `dir` whose server is `scheme://127.0.0.1:<port>`.
    pub fn kubeconfig(&self, dir: &Path, scheme: &str) -> PathBuf {
        kubeconfig(dir, &format!("{scheme}://127.0.0.1:{}", self.port))
    }
}

fn serve(mut stream: TcpStream, reply: &Reply) {
    let (status, content_type, body) = match reply {
        Reply::Silent => {
            // Hold the connection open, silent, longer than any test runs.
            std::thread::sleep(Duration::from_secs(600));
            return;
        }
        Reply::Http(status, content_type, body) => (status, content_type, body),
    };
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = stream.read(&mut buf) {
        // One answer per request head; the body of a GET is empty.
        if n == 0 || !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            if n == 0 {
                return;
            }
            continue;
        }
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// A kubeconfig in `dir` for `server`, with a token and no TLS verification.
pub fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let path = dir.join(format!("{}.kubeconfig", super::unique("endpoint")));
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    \
         insecure-skip-tls-verify: true\nusers:\n- name: u\n  user: {{token: not-a-secret}}\n\
         contexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n"
    );
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}
