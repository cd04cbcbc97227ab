//! kv-gateway: a fast, safe HTTP/JSON key-value API in front of Tarantool.

pub mod access_log;
pub mod body;
pub mod build_info;
pub mod client_ip;
pub mod error;
pub mod healthcheck;
pub mod http_server;
pub mod json_numbers;
pub mod key;
pub mod kv_request;
pub mod list_query;
pub mod logging;
pub mod patch_body;
pub mod preconditions;
pub mod query;
pub mod reply;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod storage;
pub mod stream_reply;
pub mod stream_settings;
pub mod txn_body;
pub mod watch;
pub mod ws;
