//! Query parameters: decoded once, checked against what each request
//! takes, so a misspelled or unknown parameter is a 400 naming it rather
//! than silently ignored.

use percent_encoding::percent_decode_str;

use crate::error::ApiError;

/// A request's query parameters, in order.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses `query` (`a=1&b=x%20y`), allowing only the names in `allowed`.
    pub fn parse(query: &str, allowed: &[&str]) -> Result<Query, ApiError> {
        Query::parse_with(query, allowed, None)
    }

    /// Like `parse`, also allowing any name that starts with `family`
    /// (`where.` for `where.slack`), which must have more after it.
    pub fn parse_with(
        query: &str,
        allowed: &[&str],
        family: Option<&str>,
    ) -> Result<Query, ApiError> {
        let mut pairs = Vec::new();
        for part in query.split('&').filter(|part| !part.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = decode(name)?;
            let in_family =
                family.is_some_and(|f| name.strip_prefix(f).is_some_and(|rest| !rest.is_empty()));
            if !allowed.contains(&name.as_str()) && !in_family {
                let mut takes = if allowed.is_empty() {
                    "no parameters".to_owned()
                } else {
                    allowed.join(", ")
                };
                if let Some(family) = family {
                    takes.push_str(&format!(", {family}<field>"));
                }
                return Err(ApiError::InvalidParameter(format!(
                    "unknown parameter {name:?}; this request takes {takes}"
                )));
            }
            if pairs.iter().any(|(seen, _)| *seen == name) {
                return Err(ApiError::InvalidParameter(format!("{name} is given twice")));
            }
            pairs.push((name, decode(value)?));
        }
        Ok(Query(pairs))
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The parameters whose names start with `family`, that prefix cut off.
    pub fn family<'a>(&'a self, family: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0.iter().filter_map(move |(name, value)| {
            name.strip_prefix(family).map(|rest| (rest, value.as_str()))
        })
    }

    /// `name` as a boolean (`true` or `false`), false when absent.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        self.flag_or(name, false)
    }

    /// `name` as a boolean, `default` when absent.
    pub fn flag_or(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(ApiError::InvalidParameter(format!(
                "{name} must be true or false, not {other:?}"
            ))),
        }
    }
}

/// Percent-decodes a query component; `+` is a space there.
fn decode(component: &str) -> Result<String, ApiError> {
    let spaced = component.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::InvalidParameter("a query parameter is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(result: Result<Query, ApiError>) -> String {
        match result {
            Err(ApiError::InvalidParameter(detail)) => detail,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn known_parameters_are_decoded() {
        let query = Query::parse("upsert=true&ttl=5&p=a%2Fb+c", &["upsert", "ttl", "p"]).unwrap();
        assert!(query.flag("upsert").unwrap());
        assert_eq!(query.get("ttl"), Some("5"));
        assert_eq!(query.get("p"), Some("a/b c"));
        assert!(!Query::parse("", &[]).unwrap().flag("upsert").unwrap());
    }

    #[test]
    fn unknown_repeated_and_bad_parameters_are_named() {
        assert_eq!(
            detail(Query::parse("upsrt=true", &["upsert"])),
            "unknown parameter \"upsrt\"; this request takes upsert"
        );
        assert_eq!(
            detail(Query::parse("x=1", &[])),
            "unknown parameter \"x\"; this request takes no parameters"
        );
        assert_eq!(detail(Query::parse("a=1&a=2", &["a"])), "a is given twice");
        let query = Query::parse("upsert=maybe", &["upsert"]).unwrap();
        assert!(matches!(
            query.flag("upsert"),
            Err(ApiError::InvalidParameter(_))
        ));
    }
}
