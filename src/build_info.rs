//! What this binary is: its version and the commit it was built from.

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit the binary was built from (`unknown` outside a checkout,
/// unless `KV_GATEWAY_COMMIT` was set for the build).
pub const COMMIT: &str = env!("KV_GATEWAY_COMMIT");

/// `VERSION (commit COMMIT)`, as `--version` and the start-up log print it.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KV_GATEWAY_COMMIT"),
    ")"
);
