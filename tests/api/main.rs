//! Integration tests: real Tarantool, real gateway, real HTTP.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod batch;
mod binary;
mod errors;
mod expiry;
mod failures;
mod fields;
mod health;
mod helpers;
mod http_edges;
mod kv;
mod listing;
mod lua_guards;
mod metrics;
mod openapi;
mod patch;
mod rate_limit;
mod readiness;
mod resources;
mod revisions;
mod schema;
mod security;
mod stream_limits;
mod streams;
mod supervision;
mod txn;
mod watch;
mod ws;
