//! A forward HTTP proxy on loopback, as `HTTP_PROXY`/`HTTPS_PROXY` name one: `CONNECT host:port`
//! tunnels (RFC 9110 9.3.6) and absolute-form requests (`GET http://host:port/path`), each connection
//! piped to its destination. Names under `.hoist.test` resolve to 127.0.0.1 here and nowhere else, so a
//! request for `registry.hoist.test:PORT` that reaches a loopback registry went through this proxy. It
//! logs the first request line of every connection. Stopped on drop.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The domain only this proxy resolves (to 127.0.0.1).
pub const PROXIED_DOMAIN: &str = "hoist.test";

pub struct Proxy {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let log = log.clone();
                    std::thread::spawn(move || handle(stream, &log));
                }
            })
        };
        Proxy {
            port,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for the proxy variables.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The first request line of every connection so far (`CONNECT host:port HTTP/1.1`,
    /// `GET http://host:port/v2/ HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `host:port` → where to connect: names under [`PROXIED_DOMAIN`] are 127.0.0.1.
fn destination(authority: &str) -> String {
    match authority.rsplit_once(':') {
        Some((host, port)) if host.ends_with(&format!(".{PROXIED_DOMAIN}")) => {
            format!("127.0.0.1:{port}")
        }
        Some(_) => authority.to_string(),
        None => format!("{authority}:80"),
    }
}

fn handle(client: TcpStream, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let end = line == "\r\n" || line == "\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let first = head.lines().next().unwrap_or_default().to_string();
    log.lock().unwrap().push(first.clone());
    let mut parts = first.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut client = client;
    if method == "CONNECT" {
        let Ok(upstream) = TcpStream::connect(destination(target)) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        pipe(reader, client, upstream, Vec::new());
    } else {
        let authority = target
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("");
        let Ok(upstream) = TcpStream::connect(destination(authority)) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        pipe(reader, client, upstream, head.into_bytes());
    }
}

/// Sends `first` upstream, then copies both ways until either side closes.
fn pipe(
    mut from_client: BufReader<TcpStream>,
    client: TcpStream,
    mut upstream: TcpStream,
    first: Vec<u8>,
) {
    if upstream.write_all(&first).is_err() {
        return;
    }
    let mut to_client = client;
    let mut from_upstream = upstream.try_clone().unwrap();
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_upstream, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Write);
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from_client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if upstream.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = upstream.shutdown(Shutdown::Write);
    let _ = back.join();
}
