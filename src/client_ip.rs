//! Who the client is, for rate limiting: the TCP peer, or, only when the
//! peer is a trusted proxy, the rightmost untrusted `X-Forwarded-For` entry.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::NotUntil;
use actix_governor::{KeyExtractor, SimpleKeyExtractionError};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{HeaderMap, RETRY_AFTER};
use actix_web::{HttpResponse, HttpResponseBuilder};
use ipnet::IpNet;

use crate::error::ApiError;

/// Addresses and CIDR blocks whose `X-Forwarded-For` header is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses entries such as `10.0.0.0/8` or `127.0.0.1`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("has {entry:?}, which is neither an IP address nor a CIDR block")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request that arrived from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        // Walk the chain right to left: entries appended by our own proxies
        // are skipped; the first other one is what the last trusted proxy saw.
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for entry in entries.iter().rev() {
            match parse_forwarded_ip(entry) {
                Some(ip) if self.contains(ip) => continue,
                Some(ip) => return ip,
                // Not an address: nothing left of it can be trusted either.
                None => return peer,
            }
        }
        peer
    }
}

/// One `X-Forwarded-For` entry: an IP, optionally with a port.
fn parse_forwarded_ip(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The rate limiter's key: one bucket per client IP.
#[derive(Debug, Clone)]
pub struct ClientIpKey {
    trusted: Arc<TrustedProxies>,
}

impl ClientIpKey {
    /// A key extractor that believes `X-Forwarded-For` from `trusted` peers only.
    pub fn new(trusted: TrustedProxies) -> Self {
        ClientIpKey {
            trusted: Arc::new(trusted),
        }
    }
}

impl KeyExtractor for ClientIpKey {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        // Without a peer (not a TCP connection) everyone shares one bucket.
        let peer = req
            .peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |addr| addr.ip());
        Ok(self.trusted.client_ip(peer, req.headers()))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        _response: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative.wait_time_from(DefaultClock::default().now());
        let mut response = actix_web::ResponseError::error_response(&ApiError::TooManyRequests);
        // The crate rounds the wait down, so sub-second waits would say 0.
        let seconds = wait.as_secs() + u64::from(wait > Duration::from_secs(wait.as_secs()));
        if let Ok(value) = seconds.max(1).to_string().parse() {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in xff {
            map.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        assert_eq!(
            trusted.client_ip(ip("192.0.2.7"), &headers(&["203.0.113.9"])),
            ip("192.0.2.7")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_entry_is_the_client() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let forged_then_real = headers(&["1.1.1.1, 2.2.2.2", "198.51.100.4, 10.0.0.3"]);
        assert_eq!(
            trusted.client_ip(ip("10.0.0.2"), &forged_then_real),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        let trusted = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &headers(&[])),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn garbage_in_the_chain_falls_back_to_the_peer() {
        let trusted = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), &headers(&["1.2.3.4, not-an-ip"])),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn entries_with_ports_and_mapped_ipv6_are_understood() {
        let trusted = TrustedProxies::parse(&["127.0.0.1"]).unwrap();
        assert_eq!(
            trusted.client_ip(ip("::ffff:127.0.0.1"), &headers(&["198.51.100.4:5555"])),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn a_bad_entry_is_named() {
        let err = TrustedProxies::parse(&["10.0.0.0/8", "proxy.local"]).unwrap_err();
        assert!(err.contains("proxy.local"), "{err}");
    }
}
