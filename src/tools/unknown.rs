//! Argument keys a tool does not know: removed before the arguments are parsed, so they are never
//! sent to the API, and named in the result so a model's typo is visible.
//!
//! Clients add arguments of their own (Gemini CLI puts `wait_for_previous` into every tool's
//! schema, and its model fills it in); refusing them would make every call fail in that client.
//! Ignoring them is safe because a key is removed only where the tool's input schema lists the
//! properties it takes: a free-form object the tool offers as such (a job `patch`, a
//! `canonicalJob`) is left alone. Known arguments keep all their validation, and the argument
//! types still refuse unknown fields, so a key that got past this step would be an error, never a
//! request.

use rmcp::model::JsonObject;
use serde_json::{Map, Value};

/// Removes from `arguments` every key the tool's `schema` does not list, at the top level and in
/// nested objects whose schema lists its properties. Returns the removed keys as dotted paths
/// (`wait_for_previous`, `milestone.amout`, `items[2].x`): each level's own first, then its
/// children's, in the order given.
pub fn strip(arguments: &mut JsonObject, schema: &JsonObject) -> Vec<String> {
    let mut removed = Vec::new();
    strip_object(arguments, schema, "", &mut removed);
    removed
}

fn strip_object(
    object: &mut Map<String, Value>,
    schema: &Map<String, Value>,
    path: &str,
    removed: &mut Vec<String>,
) {
    let Some(Value::Object(properties)) = schema.get("properties") else {
        // No declared properties: a free-form object, taken as the tool documents it.
        return;
    };
    // An object that declares properties but also accepts others (`additionalProperties: true`
    // or a schema) keeps them.
    let open = match schema.get("additionalProperties") {
        None | Some(Value::Bool(false)) => false,
        Some(_) => true,
    };
    if !open {
        let unknown: Vec<String> = object
            .keys()
            .filter(|k| !properties.contains_key(*k))
            .cloned()
            .collect();
        for key in unknown {
            // `shift_remove` keeps the other keys in the order the client sent them.
            object.shift_remove(&key);
            removed.push(join(path, &key));
        }
    }
    for (key, value) in object.iter_mut() {
        let Some(Value::Object(sub)) = properties.get(key) else {
            continue;
        };
        strip_value(value, sub, &join(path, key), removed);
    }
}

fn strip_value(
    value: &mut Value,
    schema: &Map<String, Value>,
    path: &str,
    removed: &mut Vec<String>,
) {
    match value {
        Value::Object(object) => strip_object(object, schema, path, removed),
        Value::Array(items) => {
            if let Some(Value::Object(item_schema)) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    strip_value(item, item_schema, &format!("{path}[{i}]"), removed);
                }
            }
        }
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The line a result gets when keys were removed, e.g.
/// `Ignored unknown argument "wait_for_previous" (this tool does not take it; it was not sent).`
pub fn note(removed: &[String]) -> Option<String> {
    let quoted: Vec<String> = removed
        .iter()
        .map(|k| format!("\"{}\"", crate::text::truncate_chars(k, 80)))
        .collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(format!(
            "Ignored unknown argument {one} (this tool does not take it; it was not sent)."
        )),
        many => Some(format!(
            "Ignored unknown arguments {} (this tool does not take them; they were not sent).",
            many.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn schema() -> JsonObject {
        obj(json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "proposalId": {"type": "string"},
                "milestone": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {"amount": {"type": "number"}, "name": {"type": "string"}}
                },
                "patch": {"type": "object"},
                "list": {"type": "array", "items": {
                    "type": "object", "properties": {"a": {"type": "string"}}
                }}
            }
        }))
    }

    #[test]
    fn removes_unknown_keys_at_every_level_that_lists_its_properties() {
        let mut args = obj(json!({
            "proposalId": "p1",
            "wait_for_previous": true,
            "milestone": {"amount": 300, "amout": 3},
            "patch": {"anything": 1},
            "list": [{"a": "x", "b": "y"}]
        }));
        let removed = strip(&mut args, &schema());
        // Each level's own first, then its children's, in the order given.
        assert_eq!(
            removed,
            ["wait_for_previous", "milestone.amout", "list[0].b"]
        );
        assert_eq!(
            Value::Object(args),
            json!({
                "proposalId": "p1",
                "milestone": {"amount": 300},
                "patch": {"anything": 1},
                "list": [{"a": "x"}]
            })
        );
    }

    #[test]
    fn a_tool_without_arguments_ignores_all_and_an_open_object_keeps_them() {
        let mut args = obj(json!({"x": 1}));
        let removed = strip(&mut args, &obj(json!({"type": "object", "properties": {}})));
        assert_eq!(removed, ["x"]);
        assert!(args.is_empty());

        let open = obj(json!({"type": "object", "properties": {"a": {}},
                              "additionalProperties": true}));
        let mut args = obj(json!({"a": 1, "b": 2}));
        assert!(strip(&mut args, &open).is_empty());
        assert_eq!(args.len(), 2);
    }

    #[test]
    fn wrong_types_are_left_for_validation() {
        // A string where an object is expected is not this module's business: the argument
        // parser refuses it with its own message.
        let mut args = obj(json!({"proposalId": "p", "milestone": "300"}));
        assert!(strip(&mut args, &schema()).is_empty());
        assert_eq!(args["milestone"], "300");
    }

    #[test]
    fn the_note_names_every_key() {
        assert_eq!(note(&[]), None);
        assert_eq!(
            note(&["wait_for_previous".into()]).unwrap(),
            "Ignored unknown argument \"wait_for_previous\" (this tool does not take it; it was \
             not sent)."
        );
        let two = note(&["a".into(), "m.b".into()]).unwrap();
        assert!(two.contains("arguments \"a\", \"m.b\""), "{two}");
    }
}
