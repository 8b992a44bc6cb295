//! The token server's side of HTTP/1.1: one request read from a connection (request line, the
//! `Authorization` and `Content-Length` headers, the body), and `application/x-www-form-urlencoded`
//! decoding for query strings and OAuth2 form bodies.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::TcpStream;

/// An HTTP/1.1 request, as much of it as the issuer reads.
pub struct Request {
    pub method: String,
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub form: Vec<(String, String)>,
}

pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut authorization = None;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "authorization" => authorization = Some(value.trim().to_string()),
            "content-length" => length = value.trim().parse().ok()?,
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let query = target
        .split_once('?')
        .map(|(_, q)| form_decode(q))
        .unwrap_or_default();
    Some(Request {
        method,
        query,
        authorization,
        form: form_decode(&String::from_utf8_lossy(&body)),
    })
}

/// `application/x-www-form-urlencoded` pairs (also a query string).
fn form_decode(s: &str) -> Vec<(String, String)> {
    let decode = |v: &str| {
        let bytes = v.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}
