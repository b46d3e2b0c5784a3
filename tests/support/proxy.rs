//! A TCP proxy in front of a real server that can be told to stop answering: connections made
//! while it is stalled are accepted and then held, silent, as a remote that hangs would.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct StallingProxy {
    pub port: u16,
    stalled: Arc<AtomicBool>,
}

impl StallingProxy {
    /// Forwards 127.0.0.1:<port> to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> StallingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let stalled = Arc::new(AtomicBool::new(false));
        let (flag, upstream) = (stalled.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if flag.load(Ordering::SeqCst) {
                    // Hold the connection open and say nothing, for longer than any test runs.
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_secs(600));
                        drop(client);
                    });
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                pipe(client, server);
            }
        });
        StallingProxy { port, stalled }
    }

    pub fn stall(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::SeqCst);
    }
}

/// Copies both ways until either side closes.
fn pipe(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    std::thread::spawn(move || copy(a, b2));
    std::thread::spawn(move || copy(b, a2));
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
