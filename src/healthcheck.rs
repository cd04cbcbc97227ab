//! `kv-gateway healthcheck`: asks a running gateway's `/health`, so container
//! healthchecks need no curl in the image.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Where to reach a server bound to `bind` (`host:port`, resolved here the
/// way the server resolved it): a wildcard bind is reached on loopback.
pub fn target(bind: &str) -> Result<SocketAddr, String> {
    let first = bind
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {bind}: {e}"))?
        .next()
        .ok_or_else(|| format!("{bind} resolves to no address"))?;
    Ok(reachable(first))
}

fn reachable(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// Succeeds when `GET /health` at `address` answers 200 within `timeout`.
pub fn check(address: SocketAddr, timeout: Duration) -> Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| format!("cannot send to {address}: {e}"))?;
    let mut head = [0u8; 64];
    let mut len = 0;
    // The status line is all we need; it fits the buffer.
    while len < head.len() {
        match stream.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) => return Err(format!("no answer from {address}: {e}")),
        }
    }
    let status_line = String::from_utf8_lossy(&head[..len]);
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        Some(status) => Err(format!("{address}/health answered {status}")),
        None => Err(format!("{address}/health gave no HTTP status")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_bind_is_checked_on_loopback() {
        assert_eq!(
            target("0.0.0.0:8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(target("[::]:8080").unwrap(), "[::1]:8080".parse().unwrap());
        assert_eq!(
            target("10.1.2.3:80").unwrap(),
            "10.1.2.3:80".parse().unwrap()
        );
        assert!(target("localhost:80").unwrap().ip().is_loopback());
    }

    #[test]
    fn nothing_listening_is_an_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(check(port, Duration::from_millis(200)).is_err());
    }
}
