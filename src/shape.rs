//! The size of untrusted JSON, measured on its raw bytes before any tree is built from it.
//!
//! A parsed JSON value costs far more memory than its text: `[0,0,0,…]` is two bytes per value
//! on the wire and dozens once parsed, so 8 MiB of small values would take hundreds of MiB. Both
//! sides that parse untrusted JSON (requests from the client in [`crate::transport::stdio`], answers from
//! the API in [`crate::api`]) count the values and the nesting first, in one pass that allocates
//! nothing, and refuse what is over the limit before parsing it.

use std::fmt;

/// How deep any JSON this server parses may nest (serde_json stops at 128 on its own).
pub const MAX_DEPTH: usize = 64;

/// Why some JSON was refused unparsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooBig {
    /// More values than this.
    Values(usize),
    /// Nested deeper than this.
    Depth(usize),
}

impl fmt::Display for TooBig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TooBig::Values(limit) => write!(f, "more than {limit} JSON values"),
            TooBig::Depth(limit) => write!(f, "JSON nested deeper than {limit} levels"),
        }
    }
}

/// Counts the values in `bytes` (every scalar, string, object key, array and object) and checks
/// their nesting, stopping at the first limit passed. It does not validate the JSON: the parser
/// that runs next does, on input now known to be small enough to parse.
pub fn measure(bytes: &[u8], max_values: usize, max_depth: usize) -> Result<usize, TooBig> {
    let mut values = 0usize;
    let mut depth = 0usize;
    // Whether the next non-structural byte starts a new scalar (after `[`, `{`, `,`, `:`, or
    // at the start).
    let mut at_value = true;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                values += 1;
                i += 1;
                // Skip the string: to the first quote that is not escaped.
                while let Some(at) = bytes
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|b| *b == b'"' || *b == b'\\'))
                {
                    i += at;
                    if bytes[i] == b'\\' {
                        i += 2;
                    } else {
                        break;
                    }
                }
                i += 1;
                at_value = false;
            }
            b'[' | b'{' => {
                values += 1;
                depth += 1;
                if depth > max_depth {
                    return Err(TooBig::Depth(max_depth));
                }
                i += 1;
                at_value = true;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
                at_value = false;
            }
            b',' | b':' => {
                i += 1;
                at_value = true;
            }
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            _ => {
                if at_value {
                    values += 1;
                    at_value = false;
                }
                i += 1;
            }
        }
        if values > max_values {
            return Err(TooBig::Values(max_values));
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_value_once() {
        let count = |s: &str| measure(s.as_bytes(), usize::MAX, MAX_DEPTH).unwrap();
        assert_eq!(count("{}"), 1);
        assert_eq!(count("[]"), 1);
        assert_eq!(count("[0,0,0]"), 4);
        assert_eq!(count(r#"{"a":1,"b":[true,null,"x"]}"#), 8);
        assert_eq!(count(r#"{"a\"]}[{":"\\","b":-1.5e3}"#), 5);
        assert_eq!(count(" [ 1 , 2 ] "), 3);
        assert_eq!(count(""), 0);
    }

    #[test]
    fn stops_at_the_limits() {
        assert_eq!(measure(b"[0,0,0,0]", 3, MAX_DEPTH), Err(TooBig::Values(3)));
        let deep = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(
            measure(deep.as_bytes(), usize::MAX, 64),
            Err(TooBig::Depth(64))
        );
        let ok = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(measure(ok.as_bytes(), usize::MAX, 64), Ok(65));
        // Brackets inside strings do not count.
        let text = format!("[\"{}\"]", "[".repeat(1000));
        assert_eq!(measure(text.as_bytes(), usize::MAX, 2), Ok(2));
        // An unterminated string ends the scan.
        assert_eq!(measure(b"[\"abc", 10, 10), Ok(2));
        assert_eq!(measure(b"[\"abc\\", 10, 10), Ok(2));
    }
}
