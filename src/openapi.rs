//! The OpenAPI 3.1 document of the HTTP API, built from the types and
//! path declarations in `openapi/*` and served at `GET /openapi.json`.
//! `openapi.json` at the repository root is a copy; a test keeps it current.

use std::sync::OnceLock;

use actix_web::http::header::ContentType;
use actix_web::HttpResponse;
use utoipa::OpenApi;

/// Declares a unit type whose `ToResponse` is the response `$build` makes,
/// so a response with headers is described once and used by name.
macro_rules! response {
    ($(#[doc = $doc:literal])* $name:ident => $build:expr) => {
        $(#[doc = $doc])*
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, utoipa::openapi::RefOr<utoipa::openapi::Response>) {
                (stringify!($name), $build.into())
            }
        }
    };
}

pub mod bodies;
#[cfg(test)]
mod drift;
pub mod errors;
pub mod key_paths;
pub mod kv_paths;
pub mod replies;
pub mod responses;
pub mod rules;
pub mod service_paths;
pub mod success;

use bodies::*;
use errors::*;
use replies::*;
use rules::Rules;

/// The document's root: every path, schema and shared response.
#[derive(OpenApi)]
#[openapi(
    paths(
        kv_paths::create_record,
        kv_paths::list_records,
        kv_paths::delete_by_prefix,
        key_paths::get_record,
        key_paths::head_record,
        key_paths::put_record,
        key_paths::patch_record,
        key_paths::delete_record,
        service_paths::run_transaction,
        service_paths::list_indexes,
        service_paths::watch,
        service_paths::websocket,
        service_paths::health,
        service_paths::ready,
        service_paths::metrics,
        service_paths::openapi,
    ),
    components(
        schemas(
            CreateRequest, UpdateRequest, MergePatch, JsonPatch, JsonPatchOperation,
            TxnRequest, TxnOperation,
            WriteResult, WriteOutcome, ValueReply, DeleteReply, DeletedRecord, ListReply,
            ListItem, BulkDeleteReply, IndexesReply, FieldIndex, FieldType, TxnReply,
            TxnResult, WrittenResult, ValueResult, CheckResult, CheckPassed, HealthReply,
            HealthStatus, ReadyReply, ReadyStatus,
            Error, ErrorKind, UnavailableCode,
        ),
        responses(NotFound, MethodNotAllowed),
    ),
    tags(
        (name = "kv", description = "Records: create, read, replace, patch, delete, list, \
            find by fields, transactions."),
        (name = "change feed", description = "Changes as they happen, over Server-Sent Events \
            and WebSocket."),
        (name = "operations", description = "Probes, metrics and this document."),
    ),
    modifiers(&Rules),
)]
struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a final newline, as committed.
pub fn to_json() -> String {
    // Serialising the document's own types cannot fail.
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// `GET /openapi.json`: the document, rendered once per process.
pub async fn serve() -> HttpResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(JSON.get_or_init(to_json).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the committed copy lives.
    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

    #[test]
    fn the_committed_document_is_the_generated_one() {
        let generated = to_json();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(COMMITTED, &generated).expect("openapi.json is writable");
            return;
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == generated,
            "openapi.json differs from what the code generates; regenerate it with\n    \
             UPDATE_OPENAPI=1 cargo test --lib openapi\nand commit the result"
        );
    }
}
