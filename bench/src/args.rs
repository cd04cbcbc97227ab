//! `--name value` options of a subcommand; every option is required unless
//! the caller gives a default.

use std::collections::HashMap;
use std::str::FromStr;

/// The options given to one subcommand.
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Reads `--name value` pairs.
    pub fn parse(raw: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut values = HashMap::new();
        let mut raw = raw.peekable();
        while let Some(arg) = raw.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("expected --option, got {arg:?}"))?;
            let value = raw
                .next()
                .ok_or_else(|| format!("--{name} needs a value"))?;
            values.insert(name.to_owned(), value);
        }
        Ok(Args { values })
    }

    /// A required option.
    pub fn get<T: FromStr>(&self, name: &str) -> Result<T, String> {
        let raw = self
            .values
            .get(name)
            .ok_or_else(|| format!("--{name} is required"))?;
        raw.parse()
            .map_err(|_| format!("--{name}: cannot parse {raw:?}"))
    }

    /// An option with a default.
    pub fn get_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        if self.values.contains_key(name) {
            self.get(name)
        } else {
            Ok(default)
        }
    }

    /// A text option with a default.
    pub fn text_or(&self, name: &str, default: &str) -> String {
        self.values
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }
}
