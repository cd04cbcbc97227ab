//! Integers the store cannot hold exactly. serde_json quietly reads an
//! integer literal beyond u64/i64 as a float (`18446744073709551616` would be
//! stored as `1.8446744073709552e19`); the literal itself must be looked at
//! to tell it from a float written as one, so this scans the raw text.

/// The smallest integer a value may hold: -2^63.
const MIN: i128 = i64::MIN as i128;
/// The largest: 2^64 - 1.
const MAX: i128 = u64::MAX as i128;

/// Longest piece of a literal quoted in an error message.
const MAX_QUOTED: usize = 40;

/// Fails, naming the first one, if `json` (valid JSON text) has an integer
/// literal (no fraction, no exponent) outside -2^63..2^64-1.
pub fn check_integer_range(json: &[u8]) -> Result<(), String> {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => i = skip_string(json, i + 1),
            b'-' | b'0'..=b'9' => {
                let end = json[i..]
                    .iter()
                    .position(|b| !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .map_or(json.len(), |n| i + n);
                let literal = &json[i..end];
                if !literal.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) && !in_range(literal) {
                    return Err(out_of_range(literal));
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// The index after the closing quote of the string whose body starts at `i`.
/// Jumps from one quote or backslash to the next (memchr), since most of a
/// typical body's bytes are inside strings.
fn skip_string(json: &[u8], mut i: usize) -> usize {
    while let Some(n) = memchr::memchr2(b'"', b'\\', json.get(i..).unwrap_or_default()) {
        let at = i + n;
        if json[at] == b'"' {
            return at + 1;
        }
        // A backslash: the next byte is escaped, whatever it is.
        i = at + 2;
    }
    json.len()
}

fn in_range(literal: &[u8]) -> bool {
    // Up to 18 characters, a minus included, every integer is within the
    // range; longer ones are parsed. 40 characters hold any i128; a longer
    // integer is out of range anyway.
    literal.len() <= 18
        || literal.len() <= 40
            && std::str::from_utf8(literal)
                .ok()
                .and_then(|s| s.parse::<i128>().ok())
                .is_some_and(|n| (MIN..=MAX).contains(&n))
}

fn out_of_range(literal: &[u8]) -> String {
    let shown = String::from_utf8_lossy(&literal[..literal.len().min(MAX_QUOTED)]);
    let more = if literal.len() > MAX_QUOTED {
        "..."
    } else {
        ""
    };
    format!(
        "integer {shown}{more} is out of range: integers must be within \
         -9223372036854775808..18446744073709551615 (write a float, e.g. 1e20, or a string)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_within_the_range_pass() {
        for json in [
            r#"{"a":18446744073709551615,"b":-9223372036854775808,"c":0,"d":-0}"#,
            r#"{"a":1.8446744073709552e19,"b":18446744073709551616.0,"c":1e400}"#,
            r#"{"s":"18446744073709551616","t":"\"99999999999999999999\""}"#,
            r#"[1,2,3]"#,
            r#"{"q":"a\"b\\","n":999999999999999999,"m":-99999999999999999}"#,
            r#"{"unterminated \"#,
        ] {
            assert_eq!(check_integer_range(json.as_bytes()), Ok(()), "{json}");
        }
    }

    #[test]
    fn integers_beyond_the_range_are_named() {
        for (json, literal) in [
            (r#"{"x":18446744073709551616}"#, "18446744073709551616"),
            (r#"{"x":-9223372036854775809}"#, "-9223372036854775809"),
            (
                r#"{"a":[1,{"b":"\\","c":[99999999999999999999]}]}"#,
                "99999999999999999999",
            ),
        ] {
            let err = check_integer_range(json.as_bytes()).unwrap_err();
            assert!(
                err.starts_with(&format!("integer {literal} is out of range")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_huge_literal_is_quoted_shortly() {
        let json = format!("{{\"x\":{}}}", "9".repeat(10_000));
        let err = check_integer_range(json.as_bytes()).unwrap_err();
        assert!(err.len() < 200, "{err}");
        assert!(err.contains("999..."), "{err}");
    }
}
