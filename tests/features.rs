//! Beyond the vendor's server: choosing tools (toolsets, single tools, exclusions, read-only),
//! workflow prompts, resources, and `opentrain-mcp doctor`.

mod common;

use std::process::Command;

use common::*;
use opentrain_mcp::config::Config;
use opentrain_mcp::filter::Selection;
use opentrain_mcp::{OpenTrain, Options};
use rmcp::model::{GetPromptRequestParams, ReadResourceRequestParams, ResourceContents};
use serde_json::{Value, json};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_opentrain-mcp");

fn select(selection: Selection) -> Result<Vec<String>, String> {
    OpenTrain::with_selection(
        Config::new(None, None, None),
        Options::default(),
        &selection,
    )
    .map(|s| s.tools().iter().map(|t| t.name.to_string()).collect())
}

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const AUTH: [&str; 5] = [
    "opentrain_auth_status",
    "opentrain_capabilities",
    "opentrain_claim_account",
    "opentrain_claim_status",
    "opentrain_register_agent",
];

#[test]
fn by_default_every_tool_is_served() {
    assert_eq!(select(Selection::default()).unwrap().len(), 41);
}

#[test]
fn toolsets_serve_only_those_plus_auth() {
    let tools = select(Selection {
        toolsets: Some(list(&["credits", "Updates"])),
        ..Selection::default()
    })
    .unwrap();
    let mut want = list(&AUTH);
    want.extend(list(&[
        "opentrain_create_credit_top_up",
        "opentrain_get_credit_top_up",
        "opentrain_get_credits",
        "opentrain_list_credit_ledger",
        "opentrain_poll_updates",
    ]));
    want.sort();
    assert_eq!(tools, want);
    assert_eq!(
        select(Selection {
            toolsets: Some(list(&["all"])),
            ..Selection::default()
        })
        .unwrap()
        .len(),
        41
    );
}

#[test]
fn single_tools_add_to_toolsets_or_to_auth_alone() {
    let tools = select(Selection {
        toolsets: Some(list(&["updates"])),
        tools: list(&["get_credits", "opentrain_list_jobs"]),
        ..Selection::default()
    })
    .unwrap();
    assert_eq!(tools.len(), 5 + 3);
    assert!(tools.contains(&"opentrain_get_credits".to_owned()));
    assert!(tools.contains(&"opentrain_list_jobs".to_owned()));

    let alone = select(Selection {
        tools: list(&["get_credits"]),
        ..Selection::default()
    })
    .unwrap();
    let mut want = list(&AUTH);
    want.push("opentrain_get_credits".into());
    want.sort();
    assert_eq!(alone, want, "--tools alone means auth plus exactly those");
}

#[test]
fn read_only_keeps_only_tools_that_change_nothing() {
    let all = OpenTrain::new(Config::new(None, None, None), Options::default());
    let tools = select(Selection {
        read_only: true,
        ..Selection::default()
    })
    .unwrap();
    let read_only: Vec<String> = all
        .tools()
        .iter()
        .filter(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true))
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(tools, read_only);
    assert_eq!(tools.len(), 20);
    assert!(!tools.contains(&"opentrain_register_agent".to_owned()));
    // A write tool named in --tools stays out too.
    let tools = select(Selection {
        read_only: true,
        toolsets: Some(list(&["proposals"])),
        tools: list(&["hire_proposal", "send_message"]),
        ..Selection::default()
    })
    .unwrap();
    assert_eq!(
        tools,
        list(&[
            "opentrain_auth_status",
            "opentrain_capabilities",
            "opentrain_get_freelancer_profile",
            "opentrain_get_proposal",
            "opentrain_list_proposals",
        ])
    );
}

#[test]
fn exclusions_win_over_everything() {
    let tools = select(Selection {
        toolsets: Some(list(&["jobs"])),
        tools: list(&["get_credits"]),
        exclude: list(&["get_credits", "opentrain_close_job", "register_agent"]),
        read_only: false,
    })
    .unwrap();
    assert!(!tools.contains(&"opentrain_get_credits".to_owned()));
    assert!(!tools.contains(&"opentrain_close_job".to_owned()));
    assert!(!tools.contains(&"opentrain_register_agent".to_owned()));
    assert_eq!(tools.len(), 5 + 7 - 2);
}

#[test]
fn unknown_names_are_errors_listing_the_valid_ones() {
    let e = select(Selection {
        toolsets: Some(list(&["jobs", "billing"])),
        ..Selection::default()
    })
    .unwrap_err();
    assert!(
        e.contains("\"billing\"") && e.contains("jobs, proposals, messages"),
        "{e}"
    );
    let e = select(Selection {
        tools: list(&["list_jbos"]),
        ..Selection::default()
    })
    .unwrap_err();
    assert!(
        e.contains("\"list_jbos\"") && e.contains("opentrain_list_jobs"),
        "{e}"
    );
    let e = select(Selection {
        exclude: list(&["nope"]),
        ..Selection::default()
    })
    .unwrap_err();
    assert!(e.contains("\"nope\""), "{e}");
}

#[tokio::test]
async fn disabled_tools_are_refused_at_dispatch_with_the_reason() {
    let h = Harness::with_selection(
        Setup::default(),
        Selection {
            read_only: true,
            ..Selection::default()
        },
    )
    .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&h.api)
        .await;
    let listed = h.tools().await;
    assert_eq!(listed.len(), 20);
    assert!(
        listed
            .iter()
            .all(|t| t.annotations.as_ref().unwrap().read_only_hint == Some(true))
    );

    let r = h
        .call(
            "opentrain_hire_proposal",
            json!({"proposalId": "p1", "milestone": {"name": "m", "amount": 5}}),
        )
        .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("read-only mode"), "{}", text(&r));
    assert!(h.requests().await.is_empty());

    let h = Harness::with_selection(
        Setup::default(),
        Selection {
            toolsets: Some(list(&["credits"])),
            ..Selection::default()
        },
    )
    .await;
    let r = h.call("opentrain_list_jobs", json!({})).await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("not enabled on this server"),
        "{}",
        text(&r)
    );
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn workflow_prompts_are_offered_and_rendered() {
    let h = Harness::new().await;
    let prompts = h.client.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["post_job", "review_and_hire", "claim_account"]);
    let hire = &prompts[1];
    let job_arg = &hire.arguments.as_ref().unwrap()[0];
    assert_eq!(
        (job_arg.name.as_str(), job_arg.required),
        ("jobId", Some(true))
    );

    let mut args = serde_json::Map::new();
    args.insert("jobId".into(), json!("job_42"));
    let got = h
        .client
        .get_prompt(GetPromptRequestParams::new("review_and_hire").with_arguments(args))
        .await
        .unwrap();
    let text = got.messages[0].content.as_text().unwrap().text.clone();
    assert!(text.contains("job job_42") && text.contains("opentrain_hire_proposal"));
    assert!(
        text.contains("approvalUrl"),
        "the co-sign is explained: {text}"
    );

    let mut args = serde_json::Map::new();
    args.insert("brief".into(), json!("Label 5,000 street images"));
    let got = h
        .client
        .get_prompt(GetPromptRequestParams::new("post_job").with_arguments(args))
        .await
        .unwrap();
    let text = got.messages[0].content.as_text().unwrap().text.clone();
    assert!(text.contains("Label 5,000 street images") && text.contains("publishReady"));

    let missing = h
        .client
        .get_prompt(GetPromptRequestParams::new("review_and_hire"))
        .await;
    assert!(missing.is_err(), "a required argument is required");
    assert!(
        h.client
            .get_prompt(GetPromptRequestParams::new("nope"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn prompts_whose_tools_are_disabled_are_not_offered() {
    let h = Harness::with_selection(
        Setup::default(),
        Selection {
            read_only: true,
            ..Selection::default()
        },
    )
    .await;
    assert!(h.client.list_all_prompts().await.unwrap().is_empty());
}

fn resource_text(contents: &[ResourceContents]) -> (String, Option<String>) {
    match &contents[0] {
        ResourceContents::TextResourceContents {
            text, mime_type, ..
        } => (text.clone(), mime_type.clone()),
        other => panic!("text expected, got {other:?}"),
    }
}

#[tokio::test]
async fn resources_guide_events_and_config() {
    let h = Harness::new().await;
    let resources = h.client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "opentrain://guide",
            "opentrain://events",
            "opentrain://config"
        ]
    );

    let read = |uri: &str| ReadResourceRequestParams::new(uri);
    let guide = h
        .client
        .read_resource(read("opentrain://guide"))
        .await
        .unwrap();
    let (text, mime) = resource_text(&guide.contents);
    assert_eq!(mime.as_deref(), Some("text/markdown"));
    assert!(text.contains("a human confirms every money move"), "{text}");

    let events = h
        .client
        .read_resource(read("opentrain://events"))
        .await
        .unwrap();
    let (text, _) = resource_text(&events.contents);
    for event in [
        "proposal.received",
        "proposal.status_changed",
        "message.received",
        "contract.created",
        "milestone.status_changed",
        "payment.pending",
        "approval.confirmed",
        "contract.budget_state_changed",
    ] {
        assert!(text.contains(event), "{event} missing");
    }

    let config = h
        .client
        .read_resource(read("opentrain://config"))
        .await
        .unwrap();
    let (text, mime) = resource_text(&config.contents);
    assert_eq!(mime.as_deref(), Some("application/json"));
    assert!(
        !text.contains(PAT) && !text.contains("9f2c"),
        "prefix only: {text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["tokenSource"], "OPENTRAIN_PERSONAL_API_TOKEN");
    assert_eq!(v["tokenPrefix"], "ot_pat_…");
    assert_eq!(v["baseUrl"], h.api.uri());
    assert_eq!(v["credentialsFile"], h.config_path().display().to_string());
    assert_eq!(v["enabledTools"], 41);
    assert_eq!(v["readOnly"], false);

    assert!(
        h.client
            .read_resource(read("opentrain://nope"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_config_resource_names_the_file_when_the_token_comes_from_it() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT}).to_string()),
        ..Setup::default()
    })
    .await;
    let config = h
        .client
        .read_resource(ReadResourceRequestParams::new("opentrain://config"))
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&resource_text(&config.contents).0).unwrap();
    assert_eq!(v["tokenSource"], h.config_path().display().to_string());
    assert_eq!(v["credentialsFileStatus"], "present");
}

// ---------------------------------------------------------------------------------------------
// Through the binary: flags and env at start-up, and `doctor`.

fn run(args: &[&str], envs: &[(&str, &str)], home: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn unknown_names_stop_the_server_at_start() {
    let home = tempfile::TempDir::new().unwrap();
    let out = run(&["--toolsets", "jobs,billing"], &[], home.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown toolset \"billing\"") && err.contains("valid toolsets"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = run(&[], &[("OPENTRAIN_EXCLUDE_TOOLS", "nope")], home.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown tool \"nope\""));
}

#[test]
fn the_tool_count_is_logged_at_start() {
    let home = tempfile::TempDir::new().unwrap();
    // stdin is closed at once: the server starts, logs, and exits cleanly.
    let out = run(&["--read-only"], &[("RUST_LOG", "info")], home.path());
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("serving 20 tools over stdio (read-only)"),
        "{err}"
    );

    let out = run(
        &[],
        &[
            ("OPENTRAIN_TOOLSETS", "jobs"),
            ("OPENTRAIN_READ_ONLY", "1"),
            ("RUST_LOG", "info"),
        ],
        home.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("serving 4 tools over stdio"), "{err}");

    // A flag wins over its variable.
    let out = run(
        &["--toolsets=credits"],
        &[("OPENTRAIN_TOOLSETS", "jobs"), ("RUST_LOG", "info")],
        home.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("serving 9 tools over stdio (toolsets auth,credits)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_a_healthy_setup_and_exits_zero() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/public/v1/auth/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&api)
        .await;
    let home = tempfile::TempDir::new().unwrap();
    let uri = api.uri();
    let out = run(
        &["doctor", "--toolsets", "jobs"],
        &[
            ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
            ("OPENTRAIN_API_BASE_URL", &uri),
        ],
        home.path(),
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("[ok] token")
            && report.contains("ot_pat_… from OPENTRAIN_PERSONAL_API_TOKEN"),
        "{report}"
    );
    assert!(
        report.contains(&format!("{uri} (from OPENTRAIN_API_BASE_URL)")),
        "{report}"
    );
    assert!(report.contains("GET /auth/me works: Mira Chen"), "{report}");
    assert!(
        report.contains("scopes jobs:read, jobs:write, proposals:read, payments:read"),
        "{report}"
    );
    assert!(report.contains("12 of 41 enabled"), "{report}");
    assert!(report.contains("All good."), "{report}");
    assert!(
        !report.contains(PAT) && !report.contains("9f2c"),
        "prefix only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_exits_non_zero_on_any_problem() {
    let api = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "Invalid token", "code": "UNAUTHORIZED", "requestId": "r1"
        })))
        .mount(&api)
        .await;
    let uri = api.uri();

    // No token at all.
    let home = tempfile::TempDir::new().unwrap();
    let out = run(
        &["doctor"],
        &[("OPENTRAIN_API_BASE_URL", &uri)],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("[!!] token") && report.contains("opentrain_register_agent"),
        "{report}"
    );

    // A rejected token.
    let out = run(
        &["doctor"],
        &[
            ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
            ("OPENTRAIN_API_BASE_URL", &uri),
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("[!!] API") && report.contains("HTTP 401"),
        "{report}"
    );

    // A credentials file others can read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = home.path().join(".config/opentrain/cli.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, json!({"apiToken": PAT}).to_string()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = run(
            &["doctor"],
            &[("OPENTRAIN_API_BASE_URL", &uri)],
            home.path(),
        );
        assert_eq!(out.status.code(), Some(1));
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            report.contains("mode 0644") && report.contains("chmod 600"),
            "{report}"
        );
    }
}
