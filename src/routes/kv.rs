//! The `/kv` handlers: extract, parse, one storage call, shape the reply.

use actix_web::http::Method;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, Responder, ResponseError};

use crate::access_log::{self, LoggedKey};
use crate::body::{parse_create, parse_update, read_limited, ttl_of};
use crate::error::ApiError;
use crate::key::Key;
use crate::kv_request::KvRequest;
use crate::patch_body::{self, ACCEPT_PATCH, PATCH_FORMATS};
use crate::preconditions;
use crate::query::Query;
use crate::reply::KvReply;
use crate::settings::{BodyRead, LimitSettings};
use crate::storage::Storage;

/// What comes before the key in a record's path.
const KV_PREFIX: &str = "/kv/";

/// What every `/kv` handler is given.
pub struct Ctx {
    /// The store.
    pub storage: web::Data<Storage>,
    /// Request limits.
    pub limits: web::Data<LimitSettings>,
    /// How bodies must arrive.
    pub body_read: web::Data<BodyRead>,
}

impl actix_web::FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Ctx, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // All three are registered at start-up; a missing one is a bug.
        let ctx = (|| {
            Some(Ctx {
                storage: req.app_data::<web::Data<Storage>>()?.clone(),
                limits: req.app_data::<web::Data<LimitSettings>>()?.clone(),
                body_read: req.app_data::<web::Data<BodyRead>>()?.clone(),
            })
        })();
        std::future::ready(ctx.ok_or_else(|| {
            actix_web::error::ErrorInternalServerError("kv handler state is not registered")
        }))
    }
}

/// `POST /kv`: create a record unless the key exists; with a ttl (in the
/// body or as `?ttl=`) it expires that many seconds later.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    ctx: Ctx,
) -> Result<KvReply, ApiError> {
    let query = Query::parse(req.query_string(), &["ttl"])?;
    let body = read_limited(&req, payload, ctx.limits.max_body_bytes, **ctx.body_read).await?;
    let request = parse_create(&body, ctx.limits.max_key_bytes)?;
    note_key(&req, &request.key);
    let ttl_s = ttl_of(request.ttl.as_ref(), query.get("ttl"), ctx.limits.max_ttl_s)?;
    KvRequest::Create {
        key: request.key,
        value: request.value,
        ttl_s,
    }
    .run(&ctx.storage)
    .await
}

/// `/kv/{key}` with any method: GET, HEAD, PUT, PATCH and DELETE, or 405;
/// `POST /kv/` is `POST /kv`. Every answer advertises `Accept-Patch`.
pub async fn by_key(req: HttpRequest, payload: web::Payload, ctx: Ctx) -> HttpResponse {
    let result = match *req.method() {
        // What clients of other key-value HTTP APIs send; `/kv/k/` stays the key `k/`.
        Method::POST if req.uri().path() == KV_PREFIX => create(req.clone(), payload, ctx).await,
        Method::GET => get(&req, &ctx, false).await,
        Method::HEAD => get(&req, &ctx, true).await,
        Method::PUT => put(&req, payload, &ctx).await,
        Method::PATCH => patch(&req, payload, &ctx).await,
        Method::DELETE => delete(&req, &ctx).await,
        // `/kv/` names no key: POST is the one method that works there.
        _ if req.uri().path() == KV_PREFIX => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        _ => Err(ApiError::MethodNotAllowed {
            allow: "GET, HEAD, PUT, PATCH, DELETE",
        }),
    };
    let mut response = match result {
        Ok(reply) => reply.respond_to(&req),
        Err(err) => err.error_response(),
    };
    response.headers_mut().insert(ACCEPT_PATCH, PATCH_FORMATS);
    response
}

/// `GET` (or `HEAD`) `/kv/{key}`: the record's value and `ETag`; 304 when
/// `If-None-Match` names its revision.
async fn get(req: &HttpRequest, ctx: &Ctx, head: bool) -> Result<KvReply, ApiError> {
    Query::parse(req.query_string(), &[])?;
    let key = path_key(req, &ctx.limits)?;
    KvRequest::Get {
        key,
        if_none_match: preconditions::none_match(req)?,
        head,
    }
    .run(&ctx.storage)
    .await
}

/// `PUT /kv/{key}`: replace the value of an existing record; with
/// `If-None-Match: *` create it only if absent, with `?upsert=true` create
/// or replace; with `If-Match` only if the record is at a listed revision.
/// The record expires after its ttl, if given, else never.
async fn put(req: &HttpRequest, payload: web::Payload, ctx: &Ctx) -> Result<KvReply, ApiError> {
    let query = Query::parse(req.query_string(), &["upsert", "ttl"])?;
    let key = path_key(req, &ctx.limits)?;
    let if_match = preconditions::if_match(req)?;
    let mode = preconditions::put_mode(
        preconditions::none_match(req)?.as_ref(),
        query.flag("upsert")?,
    )?;
    let body = read_limited(req, payload, ctx.limits.max_body_bytes, **ctx.body_read).await?;
    let request = parse_update(&body, &key)?;
    let ttl_s = ttl_of(request.ttl.as_ref(), query.get("ttl"), ctx.limits.max_ttl_s)?;
    KvRequest::Put {
        key,
        value: request.value,
        mode,
        if_match,
        ttl_s,
    }
    .run(&ctx.storage)
    .await
}

/// `PATCH /kv/{key}`: apply a merge patch or a JSON Patch, in Tarantool.
async fn patch(req: &HttpRequest, payload: web::Payload, ctx: &Ctx) -> Result<KvReply, ApiError> {
    Query::parse(req.query_string(), &[])?;
    let key = path_key(req, &ctx.limits)?;
    let format = patch_body::format_of(req)?;
    let if_match = preconditions::if_match(req)?;
    preconditions::no_none_match(preconditions::none_match(req)?.as_ref())?;
    let body = read_limited(req, payload, ctx.limits.max_body_bytes, **ctx.body_read).await?;
    let patch = patch_body::parse(&body, format)?;
    KvRequest::Patch {
        key,
        patch,
        if_match,
    }
    .run(&ctx.storage)
    .await
}

/// `DELETE /kv/{key}`: remove the record and return what it held (`null`
/// for a value that cannot be shown as JSON; the record is gone anyway).
async fn delete(req: &HttpRequest, ctx: &Ctx) -> Result<KvReply, ApiError> {
    Query::parse(req.query_string(), &[])?;
    let key = path_key(req, &ctx.limits)?;
    let if_match = preconditions::if_match(req)?;
    preconditions::no_none_match(preconditions::none_match(req)?.as_ref())?;
    KvRequest::Delete { key, if_match }.run(&ctx.storage).await
}

/// The key from the path, percent-decoded once; it may contain `/`.
fn path_key(req: &HttpRequest, limits: &LimitSettings) -> Result<Key, ApiError> {
    // The raw path, not the router's copy: the router has already decoded
    // some escapes, and lossily where they are not UTF-8. Only a path whose
    // "/kv/" prefix is itself percent-encoded lacks it; that is no key.
    let segment = req.uri().path().strip_prefix(KV_PREFIX).unwrap_or_default();
    let key = Key::from_path(segment, limits.max_key_bytes).map_err(ApiError::InvalidKey)?;
    note_key(req, &key);
    Ok(key)
}

/// Leaves the key for the access log, which cannot see a key from a body.
pub fn note_key(req: &HttpRequest, key: &Key) {
    if access_log::enabled() {
        req.extensions_mut().insert(LoggedKey(key.clone()));
    }
}
