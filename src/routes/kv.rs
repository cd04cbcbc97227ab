//! The `/kv` handlers: extract, parse, one storage call, shape the reply.

use actix_web::http::Method;
use actix_web::{web, HttpMessage, HttpRequest};

use crate::access_log::{self, LoggedKey};
use crate::body::{parse_create, parse_update, read_limited};
use crate::error::ApiError;
use crate::key::Key;
use crate::reply::KvReply;
use crate::settings::{BodyRead, LimitSettings};
use crate::storage::{CreateOutcome, Storage, UpdateOutcome};

/// What comes before the key in a record's path.
const KV_PREFIX: &str = "/kv/";

/// `POST /kv`: create a record unless the key exists.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    storage: web::Data<Storage>,
    limits: web::Data<LimitSettings>,
    body_read: web::Data<BodyRead>,
) -> Result<KvReply, ApiError> {
    let body = read_limited(&req, payload, limits.max_body_bytes, **body_read).await?;
    let request = parse_create(&body, limits.max_key_bytes)?;
    note_key(&req, &request.key);
    match storage.create(&request.key, &request.value).await? {
        CreateOutcome::Created => Ok(KvReply::Created),
        CreateOutcome::AlreadyExists => Err(ApiError::KeyExists),
    }
}

/// `/kv/{key}` with any method: GET, PUT and DELETE, or 405; `POST /kv/` is `POST /kv`.
pub async fn by_key(
    req: HttpRequest,
    payload: web::Payload,
    storage: web::Data<Storage>,
    limits: web::Data<LimitSettings>,
    body_read: web::Data<BodyRead>,
) -> Result<KvReply, ApiError> {
    match *req.method() {
        // What clients of other key-value HTTP APIs send; `/kv/k/` stays the key `k/`.
        Method::POST if req.uri().path() == KV_PREFIX => {
            create(req, payload, storage, limits, body_read).await
        }
        Method::GET => get(req, storage, limits).await,
        Method::PUT => update(req, payload, storage, limits, body_read).await,
        Method::DELETE => delete(req, storage, limits).await,
        _ => Err(ApiError::MethodNotAllowed {
            allow: "GET, PUT, DELETE",
        }),
    }
}

/// `GET /kv/{key}`: the record's value.
pub async fn get(
    req: HttpRequest,
    storage: web::Data<Storage>,
    limits: web::Data<LimitSettings>,
) -> Result<KvReply, ApiError> {
    let key = path_key(&req, &limits)?;
    let value = storage.get(&key).await?.ok_or(ApiError::KeyNotFound)?;
    Ok(KvReply::Found(value))
}

/// `PUT /kv/{key}`: replace the value of an existing record.
pub async fn update(
    req: HttpRequest,
    payload: web::Payload,
    storage: web::Data<Storage>,
    limits: web::Data<LimitSettings>,
    body_read: web::Data<BodyRead>,
) -> Result<KvReply, ApiError> {
    let key = path_key(&req, &limits)?;
    let body = read_limited(&req, payload, limits.max_body_bytes, **body_read).await?;
    let value = parse_update(&body, &key)?;
    match storage.update(&key, &value).await? {
        UpdateOutcome::Updated => Ok(KvReply::Updated),
        UpdateOutcome::NotFound => Err(ApiError::KeyNotFound),
    }
}

/// `DELETE /kv/{key}`: remove the record and return what it held (`null`
/// for a value that cannot be shown as JSON; the record is gone anyway).
pub async fn delete(
    req: HttpRequest,
    storage: web::Data<Storage>,
    limits: web::Data<LimitSettings>,
) -> Result<KvReply, ApiError> {
    let key = path_key(&req, &limits)?;
    let value = storage.delete(&key).await?.ok_or(ApiError::KeyNotFound)?;
    Ok(KvReply::Deleted { key, value })
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
fn note_key(req: &HttpRequest, key: &Key) {
    if access_log::enabled() {
        req.extensions_mut().insert(LoggedKey(key.clone()));
    }
}
