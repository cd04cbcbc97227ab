//! `GET /indexes`: the indexes declared on fields of the values, as
//! Tarantool has them (`KV_INDEXES` is Tarantool's setting, not ours).

use actix_web::{web, HttpRequest};

use crate::error::ApiError;
use crate::query::Query;
use crate::reply::KvReply;
use crate::storage::Storage;

/// `GET /indexes`: `{"indexes": [{"field": "slack", "type": "string", "unique": true}, ...]}`.
pub async fn indexes(req: HttpRequest, storage: web::Data<Storage>) -> Result<KvReply, ApiError> {
    Query::parse(req.query_string(), &[])?;
    Ok(KvReply::Indexes(storage.indexes().await?))
}
