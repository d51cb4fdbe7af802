//! Small helpers the summaries share: reading fields out of an API answer without panicking,
//! and the phrases every list and every co-signed request uses.

use serde_json::Value;

/// The value at a JSON pointer as display text: strings as-is, numbers and booleans printed,
/// `null`/absent/objects as `None`.
pub fn text(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Like [`text`], with a placeholder for a missing value.
pub fn text_or(v: &Value, pointer: &str, missing: &str) -> String {
    text(v, pointer).unwrap_or_else(|| missing.to_owned())
}

/// The strings of an array at a pointer.
pub fn strings<'a>(v: &'a Value, pointer: &str) -> Vec<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The strings of an array at a pointer, comma-separated, or `none`.
pub fn joined(v: &Value, pointer: &str) -> String {
    let items = strings(v, pointer);
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// The elements of an array at a pointer.
pub fn items<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub fn flag(v: &Value, pointer: &str) -> bool {
    v.pointer(pointer).and_then(Value::as_bool).unwrap_or(false)
}

/// "1 job" / "3 jobs".
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}
