//! Who the client is, for rate limiting: the TCP peer, or, only when the
//! peer is a trusted proxy, the rightmost untrusted `X-Forwarded-For` entry.
//! An IPv6 client is its /64: one host usually has a whole /64 to pick
//! addresses from, so a bucket per address would not limit it at all.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
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

/// The bucket a client address counts against: an IPv4 address itself, an
/// IPv6 address's /64.
pub fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u64::MAX as u128))),
        v4 => v4,
    }
}

/// How often buckets of clients that have gone quiet are forgotten.
const FORGET_INTERVAL: Duration = Duration::from_secs(10);

/// The rate limiter shared by every worker.
pub type SharedLimiter = Arc<
    actix_governor::governor::RateLimiter<
        IpAddr,
        actix_governor::governor::state::keyed::DefaultKeyedStateStore<IpAddr>,
        DefaultClock,
        actix_governor::governor::middleware::NoOpMiddleware<QuantaInstant>,
    >,
>;

/// Forgets, now, the bucket of every client that is back to a full burst
/// (its bucket then holds nothing a fresh one would not), and gives the
/// memory back.
pub fn forget_full_buckets(limiter: &SharedLimiter) {
    limiter.retain_recent();
    limiter.shrink_to_fit();
}

/// Forgets idle clients every `FORGET_INTERVAL` on a thread of its own, so
/// a stream of fresh client addresses cannot grow the limiter without bound.
pub fn forget_idle_clients(limiter: SharedLimiter) {
    let spawned = std::thread::Builder::new()
        .name("rate-limit-gc".into())
        .spawn(move || loop {
            std::thread::sleep(FORGET_INTERVAL);
            forget_full_buckets(&limiter);
        });
    if let Err(err) = spawned {
        log::error!("cannot start the rate limiter's cleanup thread: {err}");
    }
}

/// The rate limiter's key: one bucket per client IP (an IPv6 /64).
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
        Ok(bucket_of(self.trusted.client_ip(peer, req.headers())))
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
    fn an_ipv6_client_is_its_slash_64_and_an_ipv4_client_its_address() {
        assert_eq!(bucket_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            bucket_of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(bucket_of(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket_of(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(bucket_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn buckets_of_quiet_clients_are_forgotten() {
        use actix_governor::GovernorConfigBuilder;
        // 1000 per second, burst 1: a bucket is full again after 1 ms.
        let config = GovernorConfigBuilder::default()
            .milliseconds_per_request(1)
            .burst_size(1)
            .key_extractor(ClientIpKey::new(TrustedProxies::default()))
            .finish()
            .unwrap();
        let limiter = config.limiter();
        for i in 0..1000u32 {
            let _ = limiter.check_key(&IpAddr::from(i.to_be_bytes()));
        }
        assert_eq!(limiter.len(), 1000);
        std::thread::sleep(Duration::from_millis(20));
        forget_full_buckets(&limiter);
        assert_eq!(limiter.len(), 0);
    }

    #[test]
    fn a_bad_entry_is_named() {
        let err = TrustedProxies::parse(&["10.0.0.0/8", "proxy.local"]).unwrap_err();
        assert!(err.contains("proxy.local"), "{err}");
    }
}
