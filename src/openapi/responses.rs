//! Building blocks of responses: the headers the document describes, each
//! described once, and bodies by schema name.

use serde_json::Value;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{ContentBuilder, Object, Ref, Response, ResponseBuilder, Schema, Type};

/// The response headers the document describes.
#[derive(Debug, Clone, Copy)]
pub enum Header {
    /// `Retry-After` on 429, 503 and 507.
    RetryAfter,
    /// `Allow` on 405.
    Allow,
    /// `Accept-Patch` on `/kv/{key}` and on a 415.
    AcceptPatch,
    /// `ETag` of a record.
    ETag,
    /// `Expires` of a record that expires.
    Expires,
    /// `X-Request-Id` on every response.
    RequestId,
}

impl Header {
    /// The header's name.
    pub fn name(self) -> &'static str {
        match self {
            Header::RetryAfter => "Retry-After",
            Header::Allow => "Allow",
            Header::AcceptPatch => "Accept-Patch",
            Header::ETag => "ETag",
            Header::Expires => "Expires",
            Header::RequestId => "X-Request-Id",
        }
    }

    /// The OpenAPI header object.
    pub fn build(self) -> utoipa::openapi::header::Header {
        let (kind, description) = match self {
            Header::RetryAfter => (Type::Integer, "Seconds to wait before trying again."),
            Header::Allow => (
                Type::String,
                "The methods the path takes, e.g. `GET, POST, DELETE`.",
            ),
            Header::AcceptPatch => (
                Type::String,
                "The patch formats `PATCH /kv/{key}` takes: \
                 `application/merge-patch+json, application/json-patch+json`. \
                 Sent with every `/kv/{key}` response.",
            ),
            Header::ETag => (
                Type::String,
                "The record's revision as a strong entity tag, e.g. `\"17\"`. Always sent.",
            ),
            Header::Expires => (
                Type::String,
                "When the record expires, as an HTTP date rounded up to the second. \
                 Only for a record that expires.",
            ),
            Header::RequestId => (
                Type::String,
                "The request's id: the client's `X-Request-Id` when it is 1 to 128 \
                 printable ASCII characters without spaces, else one made by the gateway \
                 (24 hex digits). Every log line of the request carries it.",
            ),
        };
        HeaderBuilder::new()
            .schema(Schema::Object(Object::with_type(kind)))
            .description(Some(description))
            .build()
    }
}

/// A response with a JSON body of the schema `schema` (a component name).
pub fn json(description: &str, schema: &str, example: Value, headers: &[Header]) -> Response {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .example(Some(example))
        .build();
    with_headers(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", body),
        headers,
    )
}

/// A response without a body.
pub fn empty(description: &str, headers: &[Header]) -> Response {
    with_headers(ResponseBuilder::new().description(description), headers)
}

fn with_headers(mut response: ResponseBuilder, headers: &[Header]) -> Response {
    for header in headers {
        response = response.header(header.name(), header.build());
    }
    response.build()
}
