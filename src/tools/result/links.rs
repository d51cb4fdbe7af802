//! The link and id finder every summary uses.
//!
//! The docs show most answers once, as an example, and the live API may put a field one level up
//! or down, under another key, or in a flat object instead of a nested one. What an agent must
//! not lose is what it needs next: a link its human must open (`approvalUrl`, `checkoutUrl`,
//! `verification_uri`, a job's URL), an id to pass to the next tool, a cursor. So every lookup
//! here tries the documented place first (JSON pointers), then the same key name at any depth,
//! breadth-first so the shallowest match wins, comparing key names without regard to case, `_` or
//! `-` (`approvalUrl` finds `approval_url`). When a field is nowhere, [`what_it_says`] renders
//! what the answer does contain (its message, every link, every id), so a summary never prints a
//! placeholder in its place.
//!
//! Lookups are bounded (depth and number of nodes), so a huge answer costs little.

use serde_json::Value;

use crate::text::truncate_chars;

/// How deep a search by key name goes.
const MAX_DEPTH: usize = 8;
/// How many JSON nodes one search visits at most.
const MAX_NODES: usize = 20_000;

/// Whether two key names are the same up to case, `_` and `-`: `approvalUrl`, `approval_url`
/// and `ApprovalURL` all match.
pub fn same_key(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    // Fast path: most comparisons fail on the first characters.
    a.len().abs_diff(b.len()) <= 4 && strip(a) == strip(b)
}

/// The first value, breadth-first, whose key matches `key` and that `accept` takes.
fn search<'v>(root: &'v Value, key: &str, accept: &impl Fn(&Value) -> bool) -> Option<&'v Value> {
    search_in(root, key, accept, true)
}

/// [`search`], optionally without looking inside arrays (where list items are: a cursor or a
/// paging field is never inside one).
fn search_in<'v>(
    root: &'v Value,
    key: &str,
    accept: &impl Fn(&Value) -> bool,
    into_arrays: bool,
) -> Option<&'v Value> {
    let mut level: Vec<&Value> = vec![root];
    let mut visited = 0;
    for _ in 0..=MAX_DEPTH {
        let mut next = Vec::new();
        for node in level {
            visited += 1;
            if visited > MAX_NODES {
                return None;
            }
            match node {
                Value::Object(map) => {
                    for (k, v) in map {
                        if same_key(k, key) && accept(v) {
                            return Some(v);
                        }
                    }
                    next.extend(
                        map.values()
                            .filter(|v| v.is_object() || (into_arrays && v.is_array())),
                    );
                }
                Value::Array(items) if into_arrays => {
                    next.extend(items.iter().filter(|v| v.is_object() || v.is_array()))
                }
                _ => {}
            }
        }
        if next.is_empty() {
            return None;
        }
        level = next;
    }
    None
}

/// The value at the first of `places` (JSON pointers) that `accept` takes, else the first value
/// found by key name (each of `keys` in turn, at any depth).
pub fn find<'v>(
    v: &'v Value,
    places: &[&str],
    keys: &[&str],
    accept: impl Fn(&Value) -> bool,
) -> Option<&'v Value> {
    places
        .iter()
        .filter_map(|p| crate::tools::summary::pointer(v, p))
        .find(|found| accept(found))
        .or_else(|| keys.iter().find_map(|k| search(v, k, &accept)))
}

/// A value as display text: a non-empty string, or a number.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_text(v: &Value) -> bool {
    as_text(v).is_some()
}

/// An id or other short value: the documented place first, then the key names at any depth.
pub fn text(v: &Value, places: &[&str], keys: &[&str]) -> Option<String> {
    find(v, places, keys, is_text).and_then(as_text)
}

/// Whether a string is an absolute http(s) link.
pub fn is_link(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && s.len() > lower.find("//").map_or(0, |i| i + 2)
}

fn is_link_value(v: &Value) -> bool {
    v.as_str().is_some_and(is_link)
}

/// A link (an absolute http(s) URL): the documented place first, then the key names at any depth.
pub fn url(v: &Value, places: &[&str], keys: &[&str]) -> Option<String> {
    find(v, places, keys, is_link_value)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// An object: the documented place first, then the key names at any depth.
pub fn object<'v>(v: &'v Value, places: &[&str], keys: &[&str]) -> Option<&'v Value> {
    find(v, places, keys, Value::is_object)
}

/// Keys under which APIs commonly return a list when not under the documented name.
const LIST_KEYS: [&str; 7] = [
    "items", "data", "results", "records", "entries", "nodes", "list",
];

/// The items of a list answer: the documented place (`/jobs`) if it holds an array, else an array
/// under one of `names` or a common list key (`items`, `data`, `results`, …) at any depth, else
/// the first array of objects in the answer. `None` when the answer has no list at all.
pub fn list<'v>(v: &'v Value, place: &str, names: &[&str]) -> Option<&'v [Value]> {
    list_named(v, place, names).or_else(|| {
        first_array_of_objects(v)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
    })
}

/// [`list`] without the last resort (the first array of objects), for an object that holds
/// several lists, where another list must not stand in for a missing one.
pub fn list_named<'v>(v: &'v Value, place: &str, names: &[&str]) -> Option<&'v [Value]> {
    if let Some(Value::Array(items)) = crate::tools::summary::pointer(v, place) {
        return Some(items);
    }
    names
        .iter()
        .chain(LIST_KEYS.iter())
        .find_map(|k| search(v, k, &Value::is_array))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
}

/// Breadth-first, the first array whose first element is an object.
fn first_array_of_objects(root: &Value) -> Option<&Value> {
    let mut level = vec![root];
    for _ in 0..3 {
        let mut next = Vec::new();
        for node in level {
            if let Value::Object(map) = node {
                for value in map.values() {
                    match value {
                        Value::Array(items) if items.first().is_some_and(Value::is_object) => {
                            return Some(value);
                        }
                        Value::Object(_) => next.push(value),
                        _ => {}
                    }
                }
            }
        }
        level = next;
    }
    None
}

/// Where a list stands: another page to fetch, the last page, or not said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// Pass this back as `cursor`.
    Next(String),
    /// The answer said there is no next page (`nextCursor: null`).
    Last,
    /// The answer carries no cursor at all (an endpoint that is not paginated).
    Unsaid,
}

/// Keys that carry the next page's cursor, in order of preference.
const CURSOR_KEYS: [&str; 6] = [
    "nextCursor",
    "nextPageCursor",
    "nextPageToken",
    "endCursor",
    "cursor",
    "next",
];

/// The next-page cursor, documented at `/nextCursor`, else under another usual key at any depth
/// (`next_cursor`, `pagination.nextCursor`, `meta.cursor`, `next`). A cursor given as a link
/// (`"next": "https://…?cursor=abc"`) yields its `cursor` parameter.
pub fn page(v: &Value) -> Page {
    let usable = |v: &Value| v.is_null() || is_text(v);
    let found = match v.get("nextCursor") {
        Some(documented) if usable(documented) => Some(documented),
        _ => CURSOR_KEYS
            .iter()
            .find_map(|k| search_in(v, k, &usable, false)),
    };
    match found {
        None => Page::Unsaid,
        Some(Value::Null) => Page::Last,
        Some(found) => {
            let raw = as_text(found).unwrap_or_default();
            if is_link(&raw) {
                match cursor_in_link(&raw) {
                    Some(cursor) => Page::Next(cursor),
                    None => Page::Unsaid,
                }
            } else {
                Page::Next(raw)
            }
        }
    }
}

fn cursor_in_link(link: &str) -> Option<String> {
    let url = url::Url::parse(link).ok()?;
    url.query_pairs()
        .find(|(k, _)| same_key(k, "cursor") || same_key(k, "after"))
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Every link in an answer with the key it is under, breadth-first, without repeats (at most
/// `max`).
pub fn all_links(v: &Value, max: usize) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    walk(v, "", 0, &mut 0, &mut |key, value| {
        if let Some(s) = value.as_str()
            && is_link(s)
            && !out.iter().any(|(_, u)| u == s)
            && out.len() < max
        {
            out.push((key.to_owned(), s.to_owned()));
        }
    });
    out
}

/// Every id in an answer (a key `id` or ending in `Id`/`_id`, with a text value), as
/// `(key, value)`, without repeats (at most `max`).
pub fn all_ids(v: &Value, max: usize) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    walk(v, "", 0, &mut 0, &mut |key, value| {
        let is_id_key = key.eq_ignore_ascii_case("id")
            || key.ends_with("Id")
            || key.to_ascii_lowercase().ends_with("_id");
        if is_id_key
            && let Some(text) = as_text(value)
            && !out.iter().any(|(k, t)| k == key && *t == text)
            && out.len() < max
        {
            out.push((key.to_owned(), text));
        }
    });
    out
}

/// Visits every (key, value) pair, parents before children, bounded like [`search`].
fn walk(
    v: &Value,
    key: &str,
    depth: usize,
    visited: &mut usize,
    visit: &mut impl FnMut(&str, &Value),
) {
    *visited += 1;
    if depth > MAX_DEPTH || *visited > MAX_NODES {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                visit(k, child);
            }
            for (k, child) in map {
                if child.is_object() || child.is_array() {
                    walk(child, k, depth + 1, visited, visit);
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                if child.is_object() || child.is_array() {
                    walk(child, key, depth + 1, visited, visit);
                } else {
                    visit(key, child);
                }
            }
        }
        _ => {}
    }
}

/// What an answer contains, for a summary whose expected field is missing: its own message,
/// every link and every id in it; or, when it has none of those, the answer itself, cut short.
pub fn what_it_says(v: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(message) = text(
        v,
        &["/message"],
        &["message", "error_description", "detail", "description"],
    ) {
        parts.push(format!(
            "its message: {}",
            crate::tools::summary::excerpt(&message)
        ));
    }
    let links = all_links(v, 6);
    if !links.is_empty() {
        let shown: Vec<String> = links.iter().map(|(k, u)| format!("{k} {u}")).collect();
        parts.push(format!("links: {}", shown.join(", ")));
    }
    let ids = all_ids(v, 8);
    if !ids.is_empty() {
        let shown: Vec<String> = ids.iter().map(|(k, t)| format!("{k} {t}")).collect();
        parts.push(format!("ids: {}", shown.join(", ")));
    }
    if parts.is_empty() {
        let compact = v.to_string();
        return format!("The answer was: {}", truncate_chars(&compact, 300));
    }
    let said = parts.join("; ");
    if said.ends_with('.') || said.ends_with(".\"") {
        format!("The answer gives {said}")
    } else {
        format!("The answer gives {said}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_whatever_their_case_or_separators() {
        assert!(same_key("approvalUrl", "approval_url"));
        assert!(same_key("approvalUrl", "ApprovalURL"));
        assert!(same_key("verification_uri", "verificationUri"));
        assert!(!same_key("approvalUrl", "approvalId"));
        assert!(!same_key("url", "jobUrl"));
    }

    #[test]
    fn the_documented_place_wins_then_the_shallowest_key() {
        let v = json!({
            "approval": {"approvalUrl": "https://a/approvals/1"},
            "deep": {"deeper": {"approvalUrl": "https://a/approvals/2"}},
            "approvalUrl": "https://a/approvals/3"
        });
        assert_eq!(
            url(&v, &["/approval/approvalUrl"], &["approvalUrl"]).as_deref(),
            Some("https://a/approvals/1")
        );
        assert_eq!(
            url(&v, &["/missing"], &["approvalUrl"]).as_deref(),
            Some("https://a/approvals/3")
        );
        let nested = json!({"data": {"result": {"approval_url": "https://a/approvals/4"}}});
        assert_eq!(
            url(&nested, &["/approval/approvalUrl"], &["approvalUrl"]).as_deref(),
            Some("https://a/approvals/4")
        );
        // Not a link: skipped.
        let odd = json!({"approvalUrl": "/approvals/5", "x": {"approvalUrl": "https://a/6"}});
        assert_eq!(
            url(&odd, &["/approvalUrl"], &["approvalUrl"]).as_deref(),
            Some("https://a/6")
        );
        assert_eq!(
            text(&json!({"a": {"topUpId": 7}}), &[], &["topUpId"]).as_deref(),
            Some("7")
        );
        assert_eq!(text(&json!({"id": ""}), &["/id"], &["id"]), None);
    }

    #[test]
    fn lists_are_found_under_other_keys() {
        let first = |v: &Value, names: &[&str]| list(v, "/jobs", names).map(|l| l[0]["id"].clone());
        let documented = json!({"jobs": [{"id": 1}], "items": [{"id": 2}]});
        assert_eq!(first(&documented, &[]), Some(json!(1)));
        let empty = json!({"jobs": [], "items": [{"id": 2}]});
        assert_eq!(list(&empty, "/jobs", &[]).map(<[Value]>::len), Some(0));
        let items = json!({"items": [{"id": 2}]});
        assert_eq!(first(&items, &[]), Some(json!(2)));
        let nested = json!({"data": {"jobs": [{"id": 3}]}});
        assert_eq!(first(&nested, &["jobs"]), Some(json!(3)));
        let other = json!({"meta": {}, "myJobs": [{"id": 4}]});
        assert_eq!(first(&other, &[]), Some(json!(4)));
        assert!(list_named(&other, "/jobs", &["jobs"]).is_none());
        assert!(list(&json!({"ok": true}), "/jobs", &[]).is_none());
    }

    #[test]
    fn cursors_are_found_wherever_they_are() {
        assert_eq!(page(&json!({"nextCursor": "c1"})), Page::Next("c1".into()));
        assert_eq!(page(&json!({"nextCursor": null})), Page::Last);
        assert_eq!(page(&json!({"jobs": []})), Page::Unsaid);
        assert_eq!(
            page(&json!({"pagination": {"next_cursor": "c2"}})),
            Page::Next("c2".into())
        );
        assert_eq!(
            page(&json!({"meta": {"cursor": 1043}})),
            Page::Next("1043".into())
        );
        assert_eq!(
            page(&json!({"links": {"next": "https://x/api?limit=5&cursor=c%203"}})),
            Page::Next("c 3".into())
        );
        assert_eq!(page(&json!({"page": {"next": null}})), Page::Last);
        // List items are never searched for a cursor.
        assert_eq!(page(&json!({"events": [{"cursor": "x"}]})), Page::Unsaid);
    }

    #[test]
    fn a_missing_field_shows_what_the_answer_says() {
        let v =
            json!({"message": "Recorded.", "result": {"link": "https://x/1", "approvalId": "a1"}});
        let said = what_it_says(&v);
        assert_eq!(
            said,
            "The answer gives its message: \"Recorded.\"; links: link https://x/1; ids: approvalId a1."
        );
        assert_eq!(
            what_it_says(&json!({"ok": true})),
            "The answer was: {\"ok\":true}"
        );
    }
}
