//! The tool registry as a whole: exactly the vendor's 41 tools with exactly their parameters,
//! explicit annotations, portable input schemas with the documented limits, a snapshot of every
//! tool, the size of `tools/list`, and the README's tool table.
//!
//! `UPDATE_SNAPSHOTS=1 cargo test --test registry` rewrites `tests/snapshots/` and the README
//! table after an intended change.

use std::collections::BTreeMap;
use std::path::PathBuf;

use opentrain_mcp::config::Config;
use opentrain_mcp::tools::Toolset;
use opentrain_mcp::{OpenTrain, Options};
use rmcp::model::{ListToolsResult, Tool};
use serde_json::{Value, json};

/// A parameter as the seed documents it: name, JSON type, required.
type Param = (&'static str, &'static str, bool);

struct Expected {
    name: &'static str,
    toolset: &'static str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    params: &'static [Param],
}

const S: &str = "string";
const N: &str = "number";
const I: &str = "integer";
const B: &str = "boolean";
const O: &str = "object";
const A: &str = "array";

macro_rules! tool {
    ($name:literal, $set:literal, ro = $ro:literal, destructive = $d:literal, idempotent = $i:literal, [$($p:expr),* $(,)?]) => {
        Expected { name: $name, toolset: $set, read_only: $ro, destructive: $d, idempotent: $i, params: &[$($p),*] }
    };
}

/// The seed's tool reference (`000_…txt`), with the hints of the annotations issue: read-only for
/// GET-only tools; destructive for close_job, end_contract, delete_webhook, revoke_token;
/// idempotent for reads, close, invite, start conversation, delete_webhook, revoke_token. The
/// seed's `number` for a page size is an `integer` here (a volume stays a number: hours can be
/// fractional).
const EXPECTED: &[Expected] = &[
    tool!(
        "opentrain_register_agent",
        "auth",
        ro = false,
        destructive = false,
        idempotent = false,
        [
            ("agentName", S, false),
            ("organizationName", S, false),
            ("force", B, false)
        ]
    ),
    tool!(
        "opentrain_claim_account",
        "auth",
        ro = false,
        destructive = false,
        idempotent = false,
        [("email", S, true), ("claimToken", S, false)]
    ),
    tool!(
        "opentrain_claim_status",
        "auth",
        ro = false,
        destructive = false,
        idempotent = false,
        [("claimToken", S, false)]
    ),
    tool!(
        "opentrain_auth_status",
        "auth",
        ro = true,
        destructive = false,
        idempotent = true,
        []
    ),
    tool!(
        "opentrain_capabilities",
        "auth",
        ro = true,
        destructive = false,
        idempotent = true,
        []
    ),
    tool!(
        "opentrain_create_job_draft",
        "jobs",
        ro = false,
        destructive = false,
        idempotent = false,
        [
            ("jobDescription", S, false),
            ("title", S, false),
            ("externalId", S, false),
            ("idempotencyKey", S, false),
            ("canonicalJob", O, false),
            ("importPayload", O, false)
        ]
    ),
    tool!(
        "opentrain_update_job_draft_fields",
        "jobs",
        ro = false,
        destructive = false,
        idempotent = false,
        [("jobId", S, true), ("patch", O, true)]
    ),
    tool!(
        "opentrain_publish_job",
        "jobs",
        ro = false,
        destructive = false,
        idempotent = false,
        [("jobId", S, true)]
    ),
    tool!(
        "opentrain_update_published_job",
        "jobs",
        ro = false,
        destructive = false,
        idempotent = false,
        [("jobId", S, true), ("patch", O, true)]
    ),
    tool!(
        "opentrain_close_job",
        "jobs",
        ro = false,
        destructive = true,
        idempotent = true,
        [("jobId", S, true)]
    ),
    tool!(
        "opentrain_list_jobs",
        "jobs",
        ro = true,
        destructive = false,
        idempotent = true,
        [
            ("status", S, false),
            ("cursor", S, false),
            ("limit", I, false)
        ]
    ),
    tool!(
        "opentrain_search_jobs",
        "jobs",
        ro = true,
        destructive = false,
        idempotent = true,
        [
            ("q", S, false),
            ("category", S, false),
            ("language", S, false),
            ("country", S, false),
            ("payType", S, false),
            ("limit", I, false),
            ("cursor", S, false)
        ]
    ),
    tool!(
        "opentrain_list_proposals",
        "proposals",
        ro = true,
        destructive = false,
        idempotent = true,
        [
            ("jobId", S, true),
            ("status", S, false),
            ("cursor", S, false),
            ("limit", I, false)
        ]
    ),
    tool!(
        "opentrain_get_proposal",
        "proposals",
        ro = true,
        destructive = false,
        idempotent = true,
        [("proposalId", S, true), ("includeInterview", B, false)]
    ),
    tool!(
        "opentrain_get_freelancer_profile",
        "proposals",
        ro = true,
        destructive = false,
        idempotent = true,
        [("idOrSlug", S, true)]
    ),
    tool!(
        "opentrain_invite_freelancer",
        "proposals",
        ro = false,
        destructive = false,
        idempotent = true,
        [("jobId", S, true), ("freelancerId", S, true)]
    ),
    tool!(
        "opentrain_hire_proposal",
        "proposals",
        ro = false,
        destructive = false,
        idempotent = false,
        [
            ("proposalId", S, true),
            ("milestone", O, true),
            ("confirmNotFitOverride", B, false)
        ]
    ),
    tool!(
        "opentrain_read_messages",
        "messages",
        ro = true,
        destructive = false,
        idempotent = true,
        [
            ("conversationId", S, false),
            ("cursor", S, false),
            ("limit", I, false),
            ("direction", S, false),
            ("filter", S, false),
            ("unreadOnly", B, false)
        ]
    ),
    tool!(
        "opentrain_send_message",
        "messages",
        ro = false,
        destructive = false,
        idempotent = false,
        [("conversationId", S, true), ("content", S, true)]
    ),
    tool!(
        "opentrain_start_proposal_conversation",
        "messages",
        ro = false,
        destructive = false,
        idempotent = true,
        [("proposalId", S, true)]
    ),
    tool!(
        "opentrain_list_contracts",
        "contracts",
        ro = true,
        destructive = false,
        idempotent = true,
        [("jobId", S, false), ("status", S, false)]
    ),
    tool!(
        "opentrain_get_contract",
        "contracts",
        ro = true,
        destructive = false,
        idempotent = true,
        [("contractId", S, true)]
    ),
    tool!(
        "opentrain_create_milestone",
        "contracts",
        ro = false,
        destructive = false,
        idempotent = false,
        [
            ("contractId", S, true),
            ("description", S, true),
            ("name", S, false),
            ("amountUsd", N, false),
            ("volume", N, false),
            ("dueDate", S, false)
        ]
    ),
    tool!(
        "opentrain_request_milestone_funding",
        "contracts",
        ro = false,
        destructive = false,
        idempotent = false,
        [("milestoneId", S, true)]
    ),
    tool!(
        "opentrain_request_milestone_approval",
        "contracts",
        ro = false,
        destructive = false,
        idempotent = false,
        [("milestoneId", S, true)]
    ),
    tool!(
        "opentrain_get_approval",
        "contracts",
        ro = true,
        destructive = false,
        idempotent = true,
        [("approvalId", S, true)]
    ),
    tool!(
        "opentrain_end_contract",
        "contracts",
        ro = false,
        destructive = true,
        idempotent = false,
        [("contractId", S, true)]
    ),
    tool!(
        "opentrain_get_credits",
        "credits",
        ro = true,
        destructive = false,
        idempotent = true,
        []
    ),
    tool!(
        "opentrain_list_credit_ledger",
        "credits",
        ro = true,
        destructive = false,
        idempotent = true,
        [("cursor", S, false), ("limit", I, false)]
    ),
    tool!(
        "opentrain_create_credit_top_up",
        "credits",
        ro = false,
        destructive = false,
        idempotent = false,
        [("amountUsd", N, true)]
    ),
    tool!(
        "opentrain_get_credit_top_up",
        "credits",
        ro = true,
        destructive = false,
        idempotent = true,
        [("topUpId", S, true)]
    ),
    tool!(
        "opentrain_poll_updates",
        "updates",
        ro = true,
        destructive = false,
        idempotent = true,
        [("cursor", S, false), ("limit", I, false)]
    ),
    tool!(
        "opentrain_create_webhook",
        "webhooks",
        ro = false,
        destructive = false,
        idempotent = false,
        [("url", S, true), ("eventTypes", A, true)]
    ),
    tool!(
        "opentrain_list_webhooks",
        "webhooks",
        ro = true,
        destructive = false,
        idempotent = true,
        []
    ),
    tool!(
        "opentrain_get_webhook",
        "webhooks",
        ro = true,
        destructive = false,
        idempotent = true,
        [("webhookId", S, true)]
    ),
    tool!(
        "opentrain_delete_webhook",
        "webhooks",
        ro = false,
        destructive = true,
        idempotent = true,
        [("webhookId", S, true)]
    ),
    tool!(
        "opentrain_list_tokens",
        "tokens",
        ro = true,
        destructive = false,
        idempotent = true,
        []
    ),
    tool!(
        "opentrain_revoke_token",
        "tokens",
        ro = false,
        destructive = true,
        idempotent = true,
        [("tokenId", S, true)]
    ),
    tool!(
        "opentrain_get_team",
        "team",
        ro = true,
        destructive = false,
        idempotent = true,
        []
    ),
    tool!(
        "opentrain_invite_team_member",
        "team",
        ro = false,
        destructive = false,
        idempotent = false,
        [("email", S, true)]
    ),
    tool!(
        "opentrain_list_pending_payments",
        "payments",
        ro = true,
        destructive = false,
        idempotent = true,
        []
    ),
];

fn server() -> OpenTrain {
    OpenTrain::new(Config::new(None, None, None), Options::default())
}

fn tools() -> Vec<Tool> {
    server().tools().to_vec()
}

fn schema(tool: &Tool) -> Value {
    Value::Object((*tool.input_schema).clone())
}

fn find<'a>(tools: &'a [Tool], name: &str) -> &'a Tool {
    tools
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} is not registered"))
}

#[test]
fn exactly_the_vendors_41_tools_in_their_toolsets() {
    let tools = tools();
    assert_eq!(EXPECTED.len(), 41);
    assert_eq!(tools.len(), 41);
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    let mut want: Vec<&str> = EXPECTED.iter().map(|e| e.name).collect();
    names.sort();
    want.sort();
    assert_eq!(names, want);
    for set in Toolset::ALL {
        let listed: Vec<String> = set
            .router()
            .list_all()
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        let expected: Vec<String> = EXPECTED
            .iter()
            .filter(|e| e.toolset == set.name())
            .map(|e| e.name.to_owned())
            .collect();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort();
        let mut expected_sorted = expected.clone();
        expected_sorted.sort();
        assert_eq!(listed_sorted, expected_sorted, "toolset {}", set.name());
    }
}

#[test]
fn every_tool_has_a_title_and_all_four_hints_set_explicitly() {
    let tools = tools();
    for e in EXPECTED {
        let tool = find(&tools, e.name);
        assert!(
            tool.title.as_deref().is_some_and(|t| !t.is_empty()),
            "{}: title",
            e.name
        );
        let a = tool
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{}: annotations", e.name));
        assert_eq!(
            a.read_only_hint,
            Some(e.read_only),
            "{}: readOnlyHint",
            e.name
        );
        assert_eq!(
            a.destructive_hint,
            Some(e.destructive),
            "{}: destructiveHint",
            e.name
        );
        assert_eq!(
            a.idempotent_hint,
            Some(e.idempotent),
            "{}: idempotentHint",
            e.name
        );
        assert_eq!(a.open_world_hint, Some(true), "{}: openWorldHint", e.name);
        assert!(tool.output_schema.is_none(), "{}: no outputSchema", e.name);
    }
}

#[test]
fn descriptions_say_what_a_tool_wraps_and_requires() {
    for tool in tools() {
        let d = tool.description.as_deref().unwrap_or_default();
        let n = d.chars().count();
        assert!(
            (120..=330).contains(&n),
            "{}: description of {n} characters",
            tool.name
        );
        assert!(
            d.contains("Wraps "),
            "{}: names the endpoint it wraps",
            tool.name
        );
        assert!(
            d.contains("Requires"),
            "{}: states its requirements",
            tool.name
        );
        for (field, property) in schema(&tool)["properties"].as_object().unwrap() {
            let doc = property["description"].as_str().unwrap_or_default();
            let n = doc.chars().count();
            assert!(
                (10..=240).contains(&n),
                "{}.{field}: description {doc:?}",
                tool.name
            );
        }
    }
}

#[test]
fn parameters_are_exactly_the_seeds() {
    let tools = tools();
    for e in EXPECTED {
        let s = schema(find(&tools, e.name));
        let properties = s["properties"].as_object().expect("properties");
        let names: Vec<&str> = properties.keys().map(String::as_str).collect();
        let want: Vec<&str> = e.params.iter().map(|p| p.0).collect();
        assert_eq!(names, want, "{}: parameter names and order", e.name);
        let required: Vec<&str> = s["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let want_required: Vec<&str> = e.params.iter().filter(|p| p.2).map(|p| p.0).collect();
        assert_eq!(required, want_required, "{}: required parameters", e.name);
        for (name, kind, _) in e.params {
            assert_eq!(properties[*name]["type"], *kind, "{}.{name}: type", e.name);
        }
    }
}

/// Walks every schema node.
fn each_node<'a>(v: &'a Value, out: &mut Vec<&'a serde_json::Map<String, Value>>) {
    match v {
        Value::Object(map) => {
            out.push(map);
            map.values().for_each(|child| each_node(child, out));
        }
        Value::Array(items) => items.iter().for_each(|child| each_node(child, out)),
        _ => {}
    }
}

#[test]
fn schemas_are_portable() {
    for tool in tools() {
        let s = schema(&tool);
        assert_eq!(s["type"], "object", "{}: root type", tool.name);
        for combinator in ["anyOf", "oneOf", "allOf", "not", "if"] {
            assert!(
                s.get(combinator).is_none(),
                "{}: top-level {combinator}",
                tool.name
            );
        }
        let mut nodes = Vec::new();
        each_node(&s, &mut nodes);
        for node in nodes {
            for banned in [
                "$ref",
                "$defs",
                "definitions",
                "$schema",
                "writeOnly",
                "readOnly",
                "nullable",
            ] {
                assert!(!node.contains_key(banned), "{}: {banned} in {s}", tool.name);
            }
            if let Some(t) = node.get("type") {
                assert!(t.is_string(), "{}: a single type, not {t}", tool.name);
                assert_ne!(t, "null", "{}: null type", tool.name);
            }
            if let Some(format) = node.get("format").and_then(Value::as_str) {
                assert!(
                    matches!(format, "email" | "uri"),
                    "{}: format {format}",
                    tool.name
                );
            }
        }
        if !s["properties"].as_object().unwrap().is_empty() {
            assert_eq!(
                s["additionalProperties"], false,
                "{}: unknown arguments are refused",
                tool.name
            );
        }
    }
}

#[test]
fn schemas_carry_the_documented_limits() {
    let tools = tools();
    let prop = |tool: &str, pointer: &str| {
        schema(find(&tools, tool))
            .pointer(&format!("/properties/{pointer}"))
            .cloned()
            .unwrap_or_else(|| panic!("{tool}: no {pointer}"))
    };
    let enums = [
        (
            "opentrain_list_jobs",
            "status",
            json!([
                "DRAFT",
                "OPEN",
                "ONGOING",
                "COMPLETED",
                "ARCHIVED",
                "PENDING_APPROVAL"
            ]),
        ),
        (
            "opentrain_search_jobs",
            "payType",
            json!(["PAY_PER_HOUR", "FIXED_PRICE", "PAY_PER_LABEL"]),
        ),
        (
            "opentrain_read_messages",
            "direction",
            json!(["older", "newer"]),
        ),
        (
            "opentrain_read_messages",
            "filter",
            json!(["all", "job", "proposal"]),
        ),
        (
            "opentrain_list_contracts",
            "status",
            json!(["active", "ended"]),
        ),
    ];
    for (tool, field, values) in enums {
        assert_eq!(prop(tool, field)["enum"], values, "{tool}.{field}");
    }
    let ranges = [
        ("opentrain_list_jobs", "limit", 1, 100),
        ("opentrain_search_jobs", "limit", 1, 50),
        ("opentrain_list_proposals", "limit", 1, 100),
        ("opentrain_read_messages", "limit", 1, 100),
        ("opentrain_list_credit_ledger", "limit", 1, 100),
        ("opentrain_poll_updates", "limit", 1, 200),
        ("opentrain_create_credit_top_up", "amountUsd", 10, 10_000),
    ];
    for (tool, field, min, max) in ranges {
        let p = prop(tool, field);
        assert_eq!(
            (p["minimum"].clone(), p["maximum"].clone()),
            (json!(min), json!(max)),
            "{tool}.{field}"
        );
    }
    assert_eq!(
        prop("opentrain_create_milestone", "amountUsd")["exclusiveMinimum"],
        0
    );
    assert_eq!(
        prop("opentrain_hire_proposal", "milestone/properties/amount")["exclusiveMinimum"],
        0
    );
    assert_eq!(
        prop("opentrain_hire_proposal", "milestone")["required"],
        json!(["amount"])
    );
    assert_eq!(
        prop("opentrain_create_milestone", "volume")["exclusiveMinimum"],
        0
    );
    let content = prop("opentrain_send_message", "content");
    assert_eq!(
        (content["minLength"].clone(), content["maxLength"].clone()),
        (json!(1), json!(10_000))
    );
    assert_eq!(
        prop("opentrain_create_webhook", "url")["pattern"],
        "^https?://"
    );
    assert_eq!(
        prop("opentrain_create_webhook", "eventTypes")["minItems"],
        1
    );
    for (tool, field) in [
        ("opentrain_claim_account", "email"),
        ("opentrain_invite_team_member", "email"),
    ] {
        assert_eq!(prop(tool, field)["format"], "email", "{tool}.{field}");
    }
    // Every id is a non-empty string (externalId is the caller's own free-text reference).
    for e in EXPECTED {
        for (name, _, _) in e.params {
            if (name.ends_with("Id") && *name != "externalId") || *name == "idOrSlug" {
                assert_eq!(prop(e.name, name)["minLength"], 1, "{}.{name}", e.name);
            }
        }
    }
}

#[test]
fn tools_list_fits_in_32_kb() {
    let result = ListToolsResult::with_all_items(tools());
    let answer = json!({"jsonrpc": "2.0", "id": 1, "result": result});
    let bytes = serde_json::to_string(&answer).unwrap().len();
    assert!(
        bytes <= 32 * 1024,
        "tools/list is {bytes} bytes (about {} tokens)",
        bytes / 4
    );
}

// ---------------------------------------------------------------------------------------------
// Snapshots and the README table

fn updating() -> bool {
    std::env::var_os("UPDATE_SNAPSHOTS").is_some()
}

#[test]
fn every_tool_matches_its_snapshot() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("snapshots");
    if updating() {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let tools = tools();
    let mut failures = Vec::new();
    for tool in &tools {
        let path = dir.join(format!("{}.json", tool.name));
        let now = serde_json::to_string_pretty(tool).unwrap() + "\n";
        if updating() {
            std::fs::write(&path, &now).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(saved) if saved == now => {}
            Ok(_) => failures.push(format!("{} changed", tool.name)),
            Err(_) => failures.push(format!("{} has no snapshot", tool.name)),
        }
    }
    let known: Vec<String> = tools.iter().map(|t| format!("{}.json", t.name)).collect();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if !known.contains(&file) {
            if updating() {
                std::fs::remove_file(entry.path()).unwrap();
            } else {
                failures.push(format!("{file} snapshots a tool that no longer exists"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "tool schema changes: {failures:?}\nIf intended, run UPDATE_SNAPSHOTS=1 cargo test --test registry and review the diff."
    );
}

/// The README's tool reference, generated from the registry.
fn readme_table() -> String {
    let tools = tools();
    let mut by_set: BTreeMap<usize, Vec<&Tool>> = BTreeMap::new();
    for (i, set) in Toolset::ALL.iter().enumerate() {
        let names: Vec<String> = set
            .router()
            .list_all()
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        by_set.insert(
            i,
            tools
                .iter()
                .filter(|t| names.contains(&t.name.to_string()))
                .collect(),
        );
    }
    let mut out = String::new();
    for (i, set) in Toolset::ALL.iter().enumerate() {
        out.push_str(&format!(
            "\n**{}**\n\n| tool | what it does | read-only | wraps |\n|---|---|---|---|\n",
            set.name()
        ));
        for tool in &by_set[&i] {
            let description = tool.description.as_deref().unwrap_or_default();
            let wraps = description
                .rsplit_once("Wraps ")
                .map(|(_, w)| w.trim_end_matches('.'))
                .unwrap_or("");
            let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
            out.push_str(&format!(
                "| `{}` | {} | {} | `{}` |\n",
                tool.name,
                tool.title.as_deref().unwrap_or_default(),
                if read_only { "yes" } else { "" },
                wraps,
            ));
        }
    }
    out
}

#[test]
fn the_readme_tool_table_matches_the_registry() {
    const BEGIN: &str = "<!-- tools:begin (generated by tests/registry.rs) -->";
    const END: &str = "<!-- tools:end -->";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("README.md lacks the {BEGIN} … {END} markers");
    };
    let current = &readme[start + BEGIN.len()..end];
    let table = readme_table();
    if updating() {
        let new = format!("{}{BEGIN}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert_eq!(
        current, table,
        "README.md's tool table is stale: run UPDATE_SNAPSHOTS=1 cargo test --test registry"
    );
}
