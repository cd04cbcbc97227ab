//! A minimal HTTP/1.1 keep-alive client connection: sends a prepared request
//! and reads the whole response (Content-Length bodies only, which is what
//! kv-gateway and Webdis send). Nothing is parsed beyond the status.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection, reopened after the server closes it.
pub struct HttpConn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl HttpConn {
    /// A connection to `addr`, opened on first use.
    pub fn new(addr: SocketAddr) -> HttpConn {
        HttpConn {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends `request` (complete bytes, head and body) and returns the status.
    /// On an error the connection is dropped; the next call reconnects.
    pub async fn send(&mut self, request: &[u8]) -> io::Result<u16> {
        self.send_tagged(request).await.map(|(status, _)| status)
    }

    /// Like `send`, also returning the revision the `ETag` names, if any.
    pub async fn send_tagged(&mut self, request: &[u8]) -> io::Result<(u16, Option<u64>)> {
        let result = self.exchange(request).await;
        if !matches!(
            result,
            Ok(Head {
                keep_alive: true,
                ..
            })
        ) {
            self.stream = None;
            self.buf.clear();
        }
        result.map(|head| (head.status, head.revision))
    }

    /// Returns the response's head (its length includes the body's).
    async fn exchange(&mut self, request: &[u8]) -> io::Result<Head> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().expect("connected above");
        stream.write_all(request).await?;
        loop {
            if let Some(head) = parse_head(&self.buf)? {
                while self.buf.len() < head.total {
                    read_more(stream, &mut self.buf).await?;
                }
                self.buf.drain(..head.total);
                return Ok(head);
            }
            read_more(stream, &mut self.buf).await?;
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.reserve(8 * 1024);
    if stream.read_buf(buf).await? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed the connection",
        ));
    }
    Ok(())
}

/// What is read of a response's head.
struct Head {
    status: u16,
    /// Head and body length.
    total: usize,
    keep_alive: bool,
    /// The revision a kv-gateway `ETag` (`"5"`) names.
    revision: Option<u64>,
}

/// The head once it is complete.
fn parse_head(buf: &[u8]) -> io::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
    };
    let status = response.code.unwrap_or(0);
    let mut body_len = None;
    let mut keep_alive = response.version == Some(1);
    let mut revision = None;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("etag") {
            revision = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim_matches('"').parse().ok());
        }
        if header.name.eq_ignore_ascii_case("content-length") {
            body_len = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
        } else if header.name.eq_ignore_ascii_case("connection") {
            let value = String::from_utf8_lossy(header.value).to_ascii_lowercase();
            keep_alive = value.contains("keep-alive") || (keep_alive && !value.contains("close"));
        }
    }
    let body_len = body_len.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "response without Content-Length",
        )
    })?;
    Ok(Some(Head {
        status,
        total: head_len + body_len,
        keep_alive,
        revision,
    }))
}

/// One blocking `GET path` on a new connection, for readiness checks and
/// spot checks: the status and the body.
pub fn get_once(addr: SocketAddr, path: &str) -> io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let timeout = Some(std::time::Duration::from_secs(2));
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))?;
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk)? {
            0 => break,
            n => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(Head { status, total, .. }) = parse_head(&buf)? {
            if buf.len() >= total {
                let head_len = buf
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(0, |p| p + 4);
                return Ok((
                    status,
                    String::from_utf8_lossy(&buf[head_len..total]).into_owned(),
                ));
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "incomplete response",
    ))
}

/// The bytes of one request with a keep-alive connection.
pub fn request(method: &str, path: &str, host: &SocketAddr, body: Option<&str>) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    match body {
        Some(body) => {
            out.push_str("Content-Type: application/json\r\n");
            out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        }
        None => out.push_str("\r\n"),
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_gives_status_length_keep_alive_and_revision() {
        let of = |resp: &[u8]| {
            parse_head(resp)
                .unwrap()
                .map(|h| (h.status, h.total, h.keep_alive, h.revision))
        };
        let resp = b"HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\n\r\nhello";
        assert_eq!(of(resp), Some((404, resp.len(), true, None)));
        let close =
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nETag: \"17\"\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(of(close), Some((200, close.len(), false, Some(17))));
        assert_eq!(of(b"HTTP/1.1 200 OK\r\n"), None);
    }
}
