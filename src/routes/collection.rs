//! `/kv` itself: create (`POST`), list (`GET`) and delete by prefix (`DELETE`).

use actix_web::http::Method;
use actix_web::{web, HttpRequest};

use crate::error::ApiError;
use crate::list_query;
use crate::query::Query;
use crate::reply::KvReply;
use crate::routes::kv::{self, Ctx};
use crate::settings::ApiSettings;
use crate::storage::ListOutcome;

/// Records one step of a delete by prefix removes, in one transaction: the
/// bound on how long it keeps other writes waiting.
pub const DELETE_STEP: usize = 1000;

/// `/kv` with any method: `POST`, `GET` and `DELETE`, or 405.
pub async fn collection(
    req: HttpRequest,
    payload: web::Payload,
    ctx: Ctx,
    api: web::Data<ApiSettings>,
) -> Result<KvReply, ApiError> {
    match *req.method() {
        Method::POST => kv::create(req, payload, ctx).await,
        Method::GET => list(&req, &ctx).await,
        Method::DELETE => delete_prefix(&req, &ctx, &api).await,
        _ => Err(ApiError::MethodNotAllowed {
            allow: "GET, POST, DELETE",
        }),
    }
}

/// `GET /kv?prefix=&limit=&cursor=&values=&match=`: a page of keys in
/// byte order; `cursor` is where the next page starts, null on the last.
/// With `where.<field>=` terms, the records whose fields hold those values.
async fn list(req: &HttpRequest, ctx: &Ctx) -> Result<KvReply, ApiError> {
    let query = list_query::parse(req.query_string(), &ctx.limits)?;
    match ctx.storage.list(&query).await? {
        ListOutcome::Page(page) => Ok(KvReply::List(page)),
        ListOutcome::NotIndexed(which) => Err(ApiError::FieldNotIndexed(which)),
        ListOutcome::InvalidQuery(why) => Err(ApiError::InvalidParameter(why)),
    }
}

/// `DELETE /kv?prefix=p`: every key with the prefix, `DELETE_STEP` records
/// per transaction. Without a prefix only if `api.allow_delete_all`.
async fn delete_prefix(
    req: &HttpRequest,
    ctx: &Ctx,
    api: &ApiSettings,
) -> Result<KvReply, ApiError> {
    let query = Query::parse(req.query_string(), &["prefix"])?;
    let prefix = query.get("prefix").unwrap_or_default();
    if prefix.is_empty() && !api.allow_delete_all {
        return Err(ApiError::DeleteAllDisabled);
    }
    let mut deleted = 0;
    loop {
        let step = ctx.storage.delete_prefix(prefix, DELETE_STEP).await?;
        deleted += step.deleted;
        if !step.more {
            return Ok(KvReply::BulkDeleted(deleted));
        }
    }
}
