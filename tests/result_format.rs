//! The result format (`--result-format text|structured`, `OPENTRAIN_RESULT_FORMAT`) and
//! start-up errors the human can see through their client (issue 11).
//!
//! The exactness suites (one per toolset) run in `structured` mode, the vendor's contract; this
//! suite checks the default, `text`, and what `structured` adds to errors.

mod common;

use std::time::Duration;

use common::stdio::{BIN, Proc};
use common::*;
use opentrain_mcp::tools::result::format::{DATA_HEADER, TEXT_LIMIT};
use serde_json::{Value, json};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn text_harness() -> Harness {
    Harness::with(Setup {
        result_format: ResultFormat::Text,
        ..Setup::default()
    })
    .await
}

/// The compact JSON after the data header, parsed.
fn data_of(text: &str) -> Value {
    let after = text
        .split_once(&format!("{DATA_HEADER}\n"))
        .unwrap_or_else(|| panic!("no data header in:\n{text}"))
        .1;
    let json = after.lines().next().unwrap();
    serde_json::from_str(json).expect("the data is valid JSON")
}

#[tokio::test]
async fn text_mode_shows_the_summary_then_the_answer_and_no_structured_content() {
    let h = text_harness().await;
    let hire = fixture("proposals_hire");
    Mock::given(method("POST"))
        .and(path("/api/public/v1/proposals/prp_1/hire"))
        .respond_with(ResponseTemplate::new(202).set_body_json(hire.clone()))
        .mount(&h.api)
        .await;
    let r = h
        .call(
            "opentrain_hire_proposal",
            json!({"proposalId": "prp_1", "milestone": {"name": "First", "amount": 300}}),
        )
        .await;
    assert!(!is_error(&r));
    assert_eq!(r.structured_content, None);
    assert_eq!(r.content.len(), 1);
    let t = text(&r);
    // The summary first, with the human's link and the next step; then the data.
    let (summary, rest) = t.split_once(DATA_HEADER).unwrap();
    assert!(summary.contains("https://app.opentrain.ai/approvals/<APPROVAL_ID>"));
    assert!(summary.contains("opentrain_get_approval"));
    assert!(summary.ends_with("\n\n"));
    assert_eq!(rest, format!("\n{hire}"));
    assert_eq!(data_of(&t), hire);
}

#[tokio::test]
async fn text_mode_errors_carry_everything_in_the_text() {
    let h = text_harness().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(403).set_body_json(fixture("error_claim_required")))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_get_team", json!({})).await;
    assert!(is_error(&r));
    assert_eq!(r.structured_content, None);
    let t = text(&r);
    for needle in [
        "HTTP 403",
        "FORBIDDEN",
        "A human must claim this agent account",
        "Reason: account_claim_required",
        "claimUrl: https://app.opentrain.ai/claim",
        "Request id: 9d1f3a8e-0000-4000-8000-000000000001",
        "What to do: ",
        "opentrain_claim_account",
    ] {
        assert!(t.contains(needle), "lacks {needle:?}:\n{t}");
    }
}

#[tokio::test]
async fn structured_mode_errors_add_only_the_next_step() {
    let h = Harness::new().await;
    let body = fixture("error_claim_required");
    Mock::given(any())
        .respond_with(ResponseTemplate::new(403).set_body_json(body.clone()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_get_team", json!({})).await;
    let raw = raw_structured(&r);
    let next = text(&r)
        .lines()
        .find_map(|l| l.strip_prefix("What to do: "))
        .unwrap()
        .to_owned();
    assert_eq!(
        raw,
        &json!({"status": 403, "error": body, "whatToDo": next}),
        "status and error as before, plus whatToDo"
    );
    // A failure with no documented next step has no whatToDo.
    let h = Harness::new().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(418).set_body_json(json!({"error": "teapot"})))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_get_team", json!({})).await;
    assert_eq!(
        raw_structured(&r),
        &json!({"status": 418, "error": {"error": "teapot"}})
    );
}

#[tokio::test]
async fn a_large_answer_is_cut_at_an_item_boundary_with_a_way_to_the_rest() {
    let h = text_harness().await;
    let jobs: Vec<Value> = (0..3_000)
        .map(|i| {
            json!({
                "id": format!("job_{i:05}"),
                "title": "Spanish Sentiment Labeling — Social Media Posts",
                "status": "OPEN",
                "jobUrl": format!("https://app.opentrain.ai/jobs/job_{i:05}"),
                "proposalCounts": {"total": 12, "unreviewed": 5}
            })
        })
        .collect();
    let body = json!({"jobs": jobs, "nextCursor": "cur_next"});
    assert!(body.to_string().len() > 3 * TEXT_LIMIT);
    Mock::given(method("GET"))
        .and(path("/api/public/v1/jobs/mine"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_list_jobs", json!({"limit": 100})).await;
    let t = text(&r);
    assert!(t.len() <= TEXT_LIMIT, "{} bytes", t.len());
    let shown = data_of(&t);
    let kept = shown["jobs"].as_array().unwrap();
    assert!(kept.len() > 100 && kept.len() < 3_000, "{}", kept.len());
    // Whole items, unchanged and in order: no id or URL is cut.
    assert_eq!(kept[..], body["jobs"].as_array().unwrap()[..kept.len()]);
    assert_eq!(shown["nextCursor"], "cur_next");
    let note = t.lines().last().unwrap();
    assert!(
        note.contains(&format!(
            "\"jobs\" shows {} of its 3000 items ({} left out",
            kept.len(),
            3_000 - kept.len()
        )) && note.contains(&format!("limit: {}", kept.len()))
            && note.contains("nextCursor"),
        "{note}"
    );
}

#[tokio::test]
async fn claude_code_s_token_cap_is_respected_for_every_list_tool_shape() {
    // A body that is one huge list at a deeper level: still cut within the limit.
    let h = text_harness().await;
    let entries: Vec<Value> = (0..5_000)
        .map(|i| json!({"id": format!("led_{i}"), "amountUsd": 1, "kind": "TOP_UP"}))
        .collect();
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ledger": {"entries": entries}, "nextCursor": null})),
        )
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_list_credit_ledger", json!({})).await;
    let t = text(&r);
    assert!(t.len() <= TEXT_LIMIT, "{}", t.len());
    assert!(t.contains("\"ledger.entries\" shows "), "{t:.300}");
    data_of(&t);
}

// ---------------------------------------------------------------------------------------------
// Through the binary: the flag, the variable, and start-up errors.

async fn stub() -> MockServer {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/auth/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&api)
        .await;
    api
}

fn call_auth_status(p: &mut Proc) -> Value {
    p.call(7, "opentrain_auth_status", json!({}));
    p.recv_until(7).pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flag_wins_over_the_variable() {
    let api = stub().await;
    let uri = api.uri();
    let base = [
        ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
        ("OPENTRAIN_API_BASE_URL", uri.as_str()),
    ];

    let mut env = base.to_vec();
    env.push(("OPENTRAIN_RESULT_FORMAT", "structured"));
    let mut p = Proc::spawn(&env);
    p.initialize();
    let m = call_auth_status(&mut p);
    assert_eq!(m["result"]["structuredContent"], fixture("auth_me"));

    let mut p = Proc::spawn_args(&["--result-format", "text"], &env);
    p.initialize();
    let m = call_auth_status(&mut p);
    assert!(m["result"].get("structuredContent").is_none(), "{m}");
    assert!(
        m["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains(DATA_HEADER)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_up_error_is_served_to_the_client_not_just_logged() {
    let api = stub().await;
    let uri = api.uri();
    let env = [
        ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
        ("OPENTRAIN_API_BASE_URL", uri.as_str()),
    ];
    for (args, extra, says) in [
        (
            vec!["--toolsets", "nope"],
            None,
            "unknown toolset \"nope\"; valid toolsets: all, auth",
        ),
        (vec!["--tolsets"], None, "unknown argument \"--tolsets\""),
        (
            vec!["--result-format"],
            None,
            "--result-format needs a value",
        ),
        (
            vec![],
            Some(("OPENTRAIN_RESULT_FORMAT", "json")),
            "OPENTRAIN_RESULT_FORMAT: unknown result format \"json\"; valid formats: text, \
             structured",
        ),
        (
            vec![],
            Some(("OPENTRAIN_HTTP_TIMEOUT_SECS", "0")),
            "OPENTRAIN_HTTP_TIMEOUT_SECS=\"0\" is not a whole number of seconds from 1 to 600",
        ),
    ] {
        let mut env = env.to_vec();
        env.extend(extra);
        let mut p = Proc::spawn_args(&args, &env);
        let init = p.initialize();
        let instructions = init["result"]["instructions"].as_str().unwrap();
        // First, so that Codex (which shows the model only the start) shows it too.
        assert!(
            instructions.starts_with(&format!(
                "SETUP PROBLEM: opentrain-mcp is misconfigured: {says}"
            )),
            "{args:?}: {instructions}"
        );
        assert!(instructions.contains("opentrain-mcp doctor"));
        // The tools are listed, and every call answers the error without calling the API.
        p.send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
        assert_eq!(p.recv()["result"]["tools"].as_array().unwrap().len(), 41);
        let m = call_auth_status(&mut p);
        assert_eq!(m["result"]["isError"], true);
        let t = m["result"]["content"][0]["text"].as_str().unwrap();
        assert!(
            t.contains(says) && t.contains("Tell your human") && t.contains("nothing was sent"),
            "{t}"
        );
        p.close_stdin();
        assert_eq!(p.wait(Duration::from_secs(2)).code(), Some(2));
        let stderr = p.stderr();
        assert!(
            stderr.contains("ERROR") && stderr.contains(says),
            "{stderr}"
        );
    }
    assert!(
        api.received_requests().await.unwrap().is_empty(),
        "no call reached the API"
    );
}

#[test]
fn claude_code_s_handshake_is_refused_with_the_reason_which_it_shows() {
    // Claude Code shows a refused handshake's message in `claude mcp list` and `/mcp`, and tells
    // its model; it opens with server/discover (2026-07-28), then falls back to initialize.
    let says = "unknown toolset \"nope\"";
    let mut p = Proc::spawn_args(&["--toolsets", "nope"], &[]);
    p.send(
        json!({"jsonrpc": "2.0", "id": "probe", "method": "server/discover", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "claude-code", "version": "2.1.332"},
        "io.modelcontextprotocol/clientCapabilities": {}}}}),
    );
    let m = p.recv();
    assert_eq!(m["id"], "probe");
    let message = m["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{m}"));
    assert!(
        message.starts_with("opentrain-mcp is misconfigured: ") && message.contains(says),
        "{message}"
    );
    p.send(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "claude-code", "version": "2.1.332"}}}),
    );
    let m = p.recv();
    assert!(
        m["error"]["message"].as_str().unwrap().contains(says),
        "{m}"
    );
    assert_eq!(p.wait(Duration::from_secs(2)).code(), Some(2));

    // A healthy server answers Claude Code's discover as usual.
    let mut p = Proc::spawn(&[]);
    p.send(
        json!({"jsonrpc": "2.0", "id": "probe", "method": "server/discover", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "claude-code", "version": "2.1.332"},
        "io.modelcontextprotocol/clientCapabilities": {}}}}),
    );
    let m = p.recv();
    assert!(m.get("error").is_none(), "{m}");
    assert!(
        m["result"]["instructions"]
            .as_str()
            .unwrap()
            .starts_with("OpenTrain is a data-labeling marketplace"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_credentials_file_leads_the_instructions() {
    let home = tempfile::TempDir::new().unwrap();
    let file = home.path().join(".config/opentrain/cli.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{ not json").unwrap();
    let mut p = Proc::spawn_in(home, &[]);
    let init = p.initialize();
    let instructions = init["result"]["instructions"].as_str().unwrap();
    assert!(
        instructions.starts_with("SETUP PROBLEM: ") && instructions.contains("cli.json"),
        "{instructions}"
    );
    p.close_stdin();
    assert_eq!(p.wait(Duration::from_secs(2)).code(), Some(0));
}

#[test]
fn a_healthy_start_writes_nothing_to_stderr() {
    // Claude Code logs every stderr line of a server as an error.
    let home = tempfile::TempDir::new().unwrap();
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("HOME", home.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn at_a_terminal_a_bad_flag_just_fails() {
    // A human typing the command, not a client: the error, and exit code 2, at once. `script`
    // (util-linux) gives the binary a terminal as stdin.
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("SKIP: /usr/bin/script (util-linux) is not installed, so no pty to test with");
        return;
    }
    let home = tempfile::TempDir::new().unwrap();
    let out = std::process::Command::new(script)
        .args(["-qec", &format!("{BIN} --toolsets nope"), "/dev/null"])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("opentrain-mcp: unknown toolset \"nope\"") && !shown.contains("jsonrpc"),
        "{shown}"
    );
}

#[test]
fn doctor_explains_a_start_up_error() {
    let home = tempfile::TempDir::new().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["doctor", "--toolsets", "nope"])
        .env_clear()
        .env("HOME", home.path())
        .env("OPENTRAIN_PERSONAL_API_TOKEN", PAT)
        .env("OPENTRAIN_API_BASE_URL", "http://127.0.0.1:9")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("[!!] configuration")
            && report.contains("unknown toolset \"nope\"")
            && report.contains("[!!] tools             none usable"),
        "{report}"
    );
}
