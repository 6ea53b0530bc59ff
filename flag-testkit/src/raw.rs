//! A hostile agent speaking raw HTTP/1.1.

use std::io::Write as _;
use std::sync::Arc;

/// A hostile agent: raw HTTP/1.1 on loopback, on threads of its own (no runtime), answering the
/// `n`th request (from 0) with the bytes `answer(n)` gives, then closing the connection.
pub struct RawAgent {
    port: u16,
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl RawAgent {
    /// Starts answering on a free loopback port.
    pub fn start(answer: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static) -> Self {
        Self::start_with_head(move |n, _| answer(n))
    }

    /// The same, with the request's head (request line and headers) given to `answer`.
    pub fn start_with_head(
        answer: impl Fn(usize, &str) -> Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        use std::io::BufReader;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let answer = Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let answer = Arc::clone(&answer);
                let n = counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let head = read_head(&mut reader);
                    let _ = stream.write_all(&answer(n, &head));
                });
            }
        });
        RawAgent { port, requests }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The next request head (request line and headers) from `reader`; empty at the end of the
/// stream.
pub fn read_head(reader: &mut impl std::io::BufRead) -> String {
    let mut head = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|read| read > 0) {
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
        line.clear();
    }
    head
}

/// A `200 OK` answer with this body and `Configuration-Version`.
pub fn http_ok(body: &[u8], version: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConfiguration-Version: {version}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// An answer with this status line (e.g. `500 Internal Server Error`) and body.
pub fn http_status(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
