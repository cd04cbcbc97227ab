//! `POST /txn`: several operations in one Tarantool transaction, all or none.

use actix_web::{web, HttpRequest};

use crate::body::read_limited;
use crate::error::ApiError;
use crate::kv_request::KvRequest;
use crate::query::Query;
use crate::reply::KvReply;
use crate::routes::kv::{note_key, Ctx};
use crate::txn_body;

/// `POST /txn` `{"ops": [...]}`: 200 with every operation's result, or the
/// failing operation's error with its index in `op`.
pub async fn txn(req: HttpRequest, payload: web::Payload, ctx: Ctx) -> Result<KvReply, ApiError> {
    Query::parse(req.query_string(), &[])?;
    let body = read_limited(&req, payload, ctx.limits.max_body_bytes, **ctx.body_read).await?;
    let ops = txn_body::parse(&body, ctx.limits.max_txn_ops, ctx.limits.max_key_bytes)?;
    if let Some(first) = ops.first() {
        note_key(&req, first.key());
    }
    KvRequest::Txn(ops).run(&ctx.storage).await
}
