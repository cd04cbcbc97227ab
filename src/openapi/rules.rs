//! What holds for whole groups of operations, applied to the document once
//! rather than repeated in each declaration: the API-wide description,
//! `POST /kv/` as the twin of `POST /kv`, `Accept-Patch` on every `/kv/{key}`
//! response, `X-Request-Id` on every request and response, and no body on
//! `HEAD`.

use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::{ObjectBuilder, OpenApi, RefOr, Required, Response, Schema, Type};
use utoipa::Modify;

use super::responses::Header;
use crate::request_id::MAX_LEN;

/// The document's description: what holds for every operation.
const DESCRIPTION: &str = "\
A fast, safe HTTP/JSON key-value API in front of Tarantool.

Request bodies are parsed as JSON whatever their `Content-Type` (`PATCH` alone reads it \
to pick the patch format). Every response with a body, error or not, is a JSON object, \
except the change feed's stream, the metrics and this document's own text.

Every error has the one body shape `Error`: `{\"error\": ..., \"detail\"?, \"code\"?, \
\"field\"?, \"op\"?, \"oldest\"?}`. Besides the statuses listed per operation:

- a path no route matches is 404 `{\"error\": \"not found\"}` (the response \
`NotFound`);
- a method a path does not take is 405 `{\"error\": \"method not allowed\"}` with \
`Allow` (the response `MethodNotAllowed`), e.g. `POST /kv/k` or `GET /txn`;
- a request line or headers the HTTP layer cannot parse, too many headers, or headers \
that do not arrive within `server.client_header_timeout_ms` get 400, 431 or 408 from \
actix-http itself, with an empty body.

`/kv`, `/txn`, `/indexes`, `/watch` and `/ws` are rate limited per client IP (429 with \
`Retry-After`); `/health`, `/ready`, `/metrics` and `/openapi.json` are not.

Query parameters are checked: an unknown one, one given twice or a bad value is a 400 \
`invalid parameter` naming it. Keys are non-empty UTF-8 strings of at most \
`limits.max_key_bytes` (1024) bytes; values are JSON objects (I-JSON: no member name \
twice, integers within -2^63..2^64-1) and round-trip exactly.

Every write takes a revision from one store-wide counter; `ETag: \"<revision>\"` is a \
strong validator for `If-Match` (compare-and-set) and `If-None-Match`.";

/// Applies the rules above to the generated document.
pub struct Rules;

impl Modify for Rules {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi.info.description = Some(DESCRIPTION.to_owned());
        add_create_slash(openapi);
        if let Some(components) = &mut openapi.components {
            add_header(components.responses.values_mut(), Header::RequestId);
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            // `by_key` answers everything under `/kv/` (also `POST /kv/`).
            let by_key = path.starts_with("/kv/");
            let operations = [
                &mut item.get,
                &mut item.head,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                if by_key {
                    add_header(
                        operation.responses.responses.values_mut(),
                        Header::AcceptPatch,
                    );
                }
                add_request_id(operation);
            }
            if let Some(head) = &mut item.head {
                for response in head.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        response.content.clear();
                    }
                }
            }
        }
    }
}

/// `POST /kv/`: the operation of `POST /kv` under its own id, so the two can
/// never be documented apart (its `Accept-Patch` comes with the `/kv/` rule).
fn add_create_slash(openapi: &mut OpenApi) {
    let Some(mut create) = openapi
        .paths
        .paths
        .get("/kv")
        .and_then(|item| item.post.clone())
    else {
        return;
    };
    create.operation_id = Some("createRecordSlash".into());
    create.summary = Some("Create a record (`/kv/`)".into());
    create.description = Some(
        "The same as `POST /kv`, for clients of other key-value HTTP APIs. Like\n\
         every response under `/kv/`, it carries `Accept-Patch`."
            .into(),
    );
    openapi
        .paths
        .paths
        .insert("/kv/".into(), PathItem::new(HttpMethod::Post, create));
}

/// `X-Request-Id`: optional on the request, always on the response.
fn add_request_id(operation: &mut Operation) {
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_LEN))
        .pattern(Some("^[!-~]+$"))
        .build();
    let parameter = ParameterBuilder::new()
        .name(Header::RequestId.name())
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "An id for the request, kept when it is 1 to 128 printable ASCII characters \
             without spaces (else the gateway makes one); returned in `X-Request-Id` and \
             written in every log line of the request.",
        ))
        .schema(Some(Schema::Object(schema)))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(parameter);
    add_header(
        operation.responses.responses.values_mut(),
        Header::RequestId,
    );
}

/// Adds `header` to every response of `responses` written out in place
/// (a reference to a shared response gets it there).
fn add_header<'a>(responses: impl Iterator<Item = &'a mut RefOr<Response>>, header: Header) {
    for response in responses {
        if let RefOr::T(response) = response {
            response
                .headers
                .insert(header.name().into(), header.build());
        }
    }
}
