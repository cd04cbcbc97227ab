//! The cases of a run, one line each, and the comparisons between them.
//!
//! A new case is a wrk script in bench/wrk/ (it prints the `RESULT` line of
//! common.lua and counts unexpected statuses) and a line in [`CASES`]; for a
//! half-peak row also a [`crate::requests::Kind`] the constant-rate generator
//! sends. A new comparison is a line in [`PAIRS`].

use crate::stacks::Persistence;

/// What serves a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serves {
    /// A kv-gateway stack: the gateway's HTTP API, or its Tarantool's iproto.
    Gateway,
    /// A kv-gateway stack whose Tarantool declares `INDEXES` (not in A/B runs).
    GatewayIndexed,
    /// Webdis in front of a Redis that keeps its data this way.
    Webdis(Persistence),
}

/// The load generator of a case.
#[derive(Clone, Copy, Debug)]
pub enum Load {
    /// wrk with this script from bench/wrk/, against the stack's HTTP port.
    Wrk(&'static str),
    /// `kv-bench iproto` with this operation, against the stack's Tarantool.
    Iproto(&'static str),
    /// `kv-bench watch-lag`: writes through the stack's gateway, watched
    /// through its second gateway, at half the `put` case's peak. Not a
    /// peak case: it runs after the rounds, with the half-peak runs.
    WatchLag,
}

/// One case.
#[derive(Debug)]
pub struct Case {
    /// Short name: `--cases`, file names, the CSV.
    pub id: &'static str,
    /// What the report calls it.
    pub label: &'static str,
    pub serves: Serves,
    /// A ceiling of the gateway (not something it serves), set apart in the report.
    pub ceiling: bool,
    pub load: Load,
    /// The `kv-bench rate --kind` that repeats it at half its peak, if any.
    pub half_peak: Option<&'static str>,
    /// SSE watchers of every key attached to the gateway while it runs.
    pub watchers: usize,
}

const fn case(
    id: &'static str,
    label: &'static str,
    serves: Serves,
    load: Load,
    half_peak: Option<&'static str>,
) -> Case {
    Case {
        id,
        label,
        serves,
        ceiling: false,
        load,
        half_peak,
        watchers: 0,
    }
}

const fn ceiling(id: &'static str, label: &'static str, load: Load) -> Case {
    Case {
        id,
        label,
        serves: Serves::Gateway,
        ceiling: true,
        load,
        half_peak: None,
        watchers: 0,
    }
}

/// Watchers attached in the `put-watched` case.
pub const WATCHERS: usize = 100;

/// The field indexes of the `GatewayIndexed` stack: two unique string
/// fields every preloaded value has (bench/src/values.rs).
pub const INDEXES: &str = "email:string:unique,name:string:unique";

use Load::{Iproto, Wrk};
use Serves::{Gateway, GatewayIndexed, Webdis};

/// Every case, in the order a round runs them: the two sides of a
/// comparison next to each other.
pub const CASES: &[Case] = &[
    case(
        "get",
        "GET existing key",
        Gateway,
        Wrk("get.lua"),
        Some("get"),
    ),
    case(
        "webdis-get",
        "Webdis GET (Redis AOF)",
        Webdis(Persistence::Aof),
        Wrk("webdis_get.lua"),
        Some("webdis-get"),
    ),
    case(
        "where",
        "GET /kv?where.email= (unique string index)",
        GatewayIndexed,
        Wrk("where.lua"),
        None,
    ),
    case(
        "put",
        "PUT existing key",
        Gateway,
        Wrk("put.lua"),
        Some("put"),
    ),
    case(
        "put-indexed",
        "PUT existing key (2 unique string indexes)",
        GatewayIndexed,
        Wrk("put.lua"),
        None,
    ),
    case(
        "webdis-set",
        "Webdis SET (Redis AOF without fsync)",
        Webdis(Persistence::Aof),
        Wrk("webdis_set.lua"),
        Some("webdis-set"),
    ),
    case(
        "webdis-set-mem",
        "Webdis SET (Redis without persistence)",
        Webdis(Persistence::None),
        Wrk("webdis_set.lua"),
        None,
    ),
    case(
        "missing",
        "GET missing key (404)",
        Gateway,
        Wrk("missing.lua"),
        Some("missing"),
    ),
    case(
        "mix",
        "90% GET / 10% PUT",
        Gateway,
        Wrk("mix.lua"),
        Some("mix"),
    ),
    Case {
        watchers: WATCHERS,
        ..case(
            "put-watched",
            "PUT existing key with 100 SSE watchers of every key attached",
            Gateway,
            Wrk("put.lua"),
            None,
        )
    },
    case(
        "watch-lag",
        "write acknowledged to its event at an SSE watcher on another gateway (lag at half the PUT peak)",
        Gateway,
        Load::WatchLag,
        None,
    ),
    case("post", "POST new key", Gateway, Wrk("post.lua"), None),
    case(
        "put-ttl",
        "PUT existing key with a ttl",
        Gateway,
        Wrk("put_ttl.lua"),
        None,
    ),
    case(
        "list",
        "GET /kv?prefix=key-N&limit=100 (a 100-key page)",
        Gateway,
        Wrk("list.lua"),
        None,
    ),
    case(
        "patch",
        "PATCH existing key (merge patch of one field)",
        Gateway,
        Wrk("patch.lua"),
        None,
    ),
    case(
        "txn",
        "POST /txn of 4 ops: 2 gets + update + merge patch",
        Gateway,
        Wrk("txn.lua"),
        None,
    ),
    ceiling("health", "GET /health (HTTP ceiling)", Wrk("health.lua")),
    ceiling(
        "iproto-get",
        "iproto get ceiling (one op per call)",
        Iproto("get"),
    ),
    ceiling(
        "iproto-update",
        "iproto update ceiling (one op per call)",
        Iproto("update"),
    ),
];

/// Two cases measured in the same rounds, reported as subject / base.
pub struct Pair {
    pub label: &'static str,
    pub base: &'static str,
    pub subject: &'static str,
}

/// The comparisons of a normal run (an A/B run compares each case's B to its A).
pub const PAIRS: &[Pair] = &[
    Pair {
        label: "GET: gateway / Webdis",
        base: "webdis-get",
        subject: "get",
    },
    Pair {
        label: "PUT: gateway / Webdis SET, Redis AOF without fsync (equal durability)",
        base: "webdis-set",
        subject: "put",
    },
    Pair {
        label: "PUT: gateway / Webdis SET, Redis without persistence",
        base: "webdis-set-mem",
        subject: "put",
    },
    Pair {
        label: "PUT: with 100 SSE watchers / without",
        base: "put",
        subject: "put-watched",
    },
];

/// The cases named in `list` (comma-separated ids, or `all`), in the
/// order of [`CASES`].
pub fn select(list: &str) -> Result<Vec<&'static Case>, String> {
    if list.trim() == "all" {
        return Ok(CASES.iter().collect());
    }
    let wanted: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(unknown) = wanted.iter().find(|w| !CASES.iter().any(|c| c.id == **w)) {
        let known: Vec<&str> = CASES.iter().map(|c| c.id).collect();
        return Err(format!(
            "unknown case {unknown:?}; the cases are {}",
            known.join(",")
        ));
    }
    if wanted.is_empty() {
        return Err("no case selected".into());
    }
    Ok(CASES.iter().filter(|c| wanted.contains(&c.id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_csv_safe() {
        for (n, c) in CASES.iter().enumerate() {
            assert!(CASES[n + 1..].iter().all(|o| o.id != c.id), "{}", c.id);
            assert!(!c.label.contains(',') && !c.id.contains(','), "{}", c.id);
        }
    }

    #[test]
    fn scripts_half_peak_kinds_and_pairs_exist() {
        for c in CASES {
            if let Load::Wrk(script) = c.load {
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("wrk")
                    .join(script);
                assert!(path.is_file(), "{}", path.display());
            }
            if let Some(kind) = c.half_peak {
                crate::requests::Kind::parse(kind).unwrap();
            }
        }
        for p in PAIRS {
            assert!(CASES.iter().any(|c| c.id == p.base), "{}", p.base);
            assert!(CASES.iter().any(|c| c.id == p.subject), "{}", p.subject);
        }
    }

    #[test]
    fn selection_keeps_the_table_order() {
        let ids: Vec<&str> = select("put,get").unwrap().iter().map(|c| c.id).collect();
        assert_eq!(ids, ["get", "put"]);
        assert_eq!(select("all").unwrap().len(), CASES.len());
        assert!(select("get,nope").unwrap_err().contains("nope"));
    }
}
