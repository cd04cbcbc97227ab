//! The success responses that carry headers, each declared once with them.

use serde_json::json;

use super::responses::{empty, json, Header::*};

response!(
    /// 200 for a create (`POST /kv`).
    Created => json(
        "The record was created; nothing else was.",
        "WriteResult",
        json!({"result": "record created"}),
        &[ETag],
    )
);
response!(
    /// 200 for a `PUT`.
    Written => json(
        "The record was replaced (`record updated`) or, with `If-None-Match: *` or \
         `upsert=true`, created (`record created`).",
        "WriteResult",
        json!({"result": "record updated"}),
        &[ETag],
    )
);
response!(
    /// 200 for a `GET` of a record.
    Found => json(
        "The record's value.",
        "ValueReply",
        json!({"value": {"name": "Ada", "langs": ["en"]}}),
        &[ETag, Expires],
    )
);
response!(
    /// 200 for a `HEAD` of a record.
    Exists => empty("The record exists: `GET`'s headers, no body.", &[ETag, Expires])
);
response!(
    /// 304 for a `GET` or `HEAD` whose `If-None-Match` matched.
    NotModified => empty(
        "`If-None-Match` names the record's revision: no body.",
        &[ETag, Expires],
    )
);
response!(
    /// 200 for a `PATCH`.
    Patched => json(
        "The patch applied; the record's new value.",
        "ValueReply",
        json!({"value": {"slack": "ann@x.io", "jira": "ann", "github": "ann-h"}}),
        &[ETag],
    )
);
