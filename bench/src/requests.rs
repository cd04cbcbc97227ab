//! The requests of each HTTP case, the same as the wrk scripts in bench/wrk/
//! send, for the constant-rate generator.

use std::net::SocketAddr;

use crate::http::request;
use crate::values::{key, missing_key, post_body, put_body, value_json};

/// Which requests a case sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `GET /kv/key-N` of a random existing key.
    Get,
    /// `PUT /kv/key-N` of a random existing key.
    Put,
    /// `POST /kv` of a new key.
    Post,
    /// 90% `Get`, 10% `Put`.
    Mix,
    /// `GET /kv/missing-N`: always 404.
    Missing,
    /// `GET /health`.
    Health,
    /// Webdis `GET /GET/key-N`.
    WebdisGet,
    /// Webdis `PUT /SET/key-N` with the value as the body.
    WebdisSet,
}

impl Kind {
    /// Parses a case name as bench/run spells it.
    pub fn parse(name: &str) -> Result<Kind, String> {
        Ok(match name {
            "get" => Kind::Get,
            "put" => Kind::Put,
            "post" => Kind::Post,
            "mix" => Kind::Mix,
            "missing" => Kind::Missing,
            "health" => Kind::Health,
            "webdis-get" => Kind::WebdisGet,
            "webdis-set" => Kind::WebdisSet,
            other => return Err(format!("unknown kind {other:?}")),
        })
    }
}

/// Makes the requests of one connection.
pub struct Requests {
    kind: Kind,
    keys: u64,
    host: SocketAddr,
    /// Unique per connection and run, so POSTed keys never collide.
    post_prefix: String,
    posted: u64,
    rng: fastrand::Rng,
}

impl Requests {
    /// Requests of `kind` over `keys` preloaded keys; `tag` and `conn` make
    /// POSTed keys unique.
    pub fn new(kind: Kind, keys: u64, host: SocketAddr, tag: &str, conn: usize) -> Requests {
        Requests {
            kind,
            keys,
            host,
            post_prefix: format!("new-{tag}-{conn}-"),
            posted: 0,
            rng: fastrand::Rng::new(),
        }
    }

    /// The next request and the status it must get.
    pub fn next_request(&mut self) -> (Vec<u8>, u16) {
        let i = self.rng.u64(0..self.keys);
        let kind = match self.kind {
            Kind::Mix if self.rng.u8(0..10) == 0 => Kind::Put,
            Kind::Mix => Kind::Get,
            other => other,
        };
        let host = &self.host;
        match kind {
            Kind::Get | Kind::Mix => (request("GET", &format!("/kv/{}", key(i)), host, None), 200),
            Kind::Put => {
                let body = put_body(i, self.rng.u64(0..1000));
                (
                    request("PUT", &format!("/kv/{}", key(i)), host, Some(&body)),
                    200,
                )
            }
            Kind::Post => {
                self.posted += 1;
                let new_key = format!("{}{}", self.post_prefix, self.posted);
                let body = post_body(&new_key, i);
                (request("POST", "/kv", host, Some(&body)), 200)
            }
            Kind::Missing => {
                let path = format!("/kv/{}", missing_key(i));
                (request("GET", &path, host, None), 404)
            }
            Kind::Health => (request("GET", "/health", host, None), 200),
            Kind::WebdisGet => (request("GET", &format!("/GET/{}", key(i)), host, None), 200),
            Kind::WebdisSet => {
                let value = value_json(i, self.rng.u64(0..1000));
                let path = format!("/SET/{}", key(i));
                (request("PUT", &path, host, Some(&value)), 200)
            }
        }
    }
}
