//! Issue 9: the second security and reliability pass. Each section proves one point of the issue,
//! in-process against wiremock or a raw stub, and through the real binary where the point is
//! about the process (`tests/reliability.rs` holds the first pass, issue 4).

mod common;

use std::time::Duration;

use common::stdio::Proc;
use common::*;
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const V1: &str = "/api/public/v1";

/// A token without any OpenTrain prefix (a custom or future format): masked by value only.
const PLAIN: &str = "Zx81PlainTokenWithoutPrefixQa7Q";

/// Everything an agent sees of a result: its text and its structuredContent.
fn shown(r: &rmcp::model::CallToolResult) -> String {
    format!(
        "{}\n{}",
        text(r),
        r.structured_content.clone().unwrap_or_default()
    )
}

/// Asserts that none of `secrets`, nor their first 16 characters, is in `what`.
fn assert_hidden(what: &str, secrets: &[&str], label: &str) {
    for secret in secrets {
        assert!(
            !what.contains(secret),
            "{label}: {secret} shown in:\n{what}"
        );
        assert!(
            !what.contains(&secret[..16]),
            "{label}: the start of {secret} shown in:\n{what}"
        );
    }
}

/// A body that repeats each of `secrets` in a text field, a key and a list.
fn echoing(secrets: &[&str]) -> Value {
    let mut keys = serde_json::Map::new();
    for s in secrets {
        keys.insert(format!("seen:{s}"), json!(s));
    }
    json!({"note": format!("you sent {}", secrets.join(" and ")), "keys": keys,
           "list": secrets, "jobs": [], "nextCursor": null})
}

// ---------------------------------------------------------------------------------------------
// 1. Every credential the process knows is masked, whatever tool or path shows it

#[tokio::test]
async fn the_env_token_is_masked_even_where_no_tool_sends_it() {
    for token in [PAT, PLAIN] {
        let h = Harness::with(Setup {
            env_token: Some(token.to_owned()),
            ..Setup::default()
        })
        .await;
        // The marketplace search never sends a token, so nothing tied it to this call.
        Mock::given(path(format!("{V1}/jobs")))
            .respond_with(ResponseTemplate::new(200).set_body_json(echoing(&[token])))
            .mount(&h.api)
            .await;
        // The claim endpoints never send it either.
        Mock::given(path("/api/agent/identity/claim"))
            .respond_with(ResponseTemplate::new(200).set_body_json(echoing(&[token])))
            .mount(&h.api)
            .await;
        Mock::given(path("/api/agent/oauth/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant", "error_description": format!("bad {token}")})))
            .mount(&h.api)
            .await;
        let calls = [
            ("opentrain_search_jobs", json!({"q": "audio"})),
            (
                "opentrain_claim_account",
                json!({"email": "o@example.com", "claimToken": CLM}),
            ),
            ("opentrain_claim_status", json!({"claimToken": CLM})),
        ];
        for (tool, args) in calls {
            let r = h.call(tool, args).await;
            assert_hidden(&shown(&r), &[token, CLM], &format!("{tool} with {token}"));
            let masked = &token[token.len() - 4..];
            assert!(shown(&r).contains(&format!("…{masked}")), "{}", shown(&r));
        }
    }
}

#[tokio::test]
async fn the_file_tokens_are_masked_in_every_tool_that_may_echo_them() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT2, "claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    let both = echoing(&[PAT2, CLM]);
    for (route, status) in [
        (format!("{V1}/jobs"), 200),
        (format!("{V1}/auth/me"), 200),
        ("/api/agent/identity/claim".to_owned(), 200),
        ("/api/agent/oauth/token".to_owned(), 200),
    ] {
        let mut body = both.clone();
        if route.ends_with("/oauth/token") {
            // A completed claim: a new token, and the old ones repeated.
            body["access_token"] = json!("ot_pat_n3wCl41m3dn3wCl41m3dn3wNEW1");
        }
        Mock::given(path(route))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&h.api)
            .await;
    }
    for (tool, args) in [
        ("opentrain_search_jobs", json!({})),
        ("opentrain_auth_status", json!({})),
        ("opentrain_claim_account", json!({"email": "o@example.com"})),
        ("opentrain_claim_status", json!({})),
        // After the claim the file holds the new token; the old ones are still ours.
        ("opentrain_search_jobs", json!({})),
    ] {
        let r = h.call(tool, args).await;
        assert!(!is_error(&r), "{tool}: {}", text(&r));
        let all = shown(&r);
        assert_hidden(&all, &[PAT2, CLM], tool);
        assert!(all.contains("ot_pat_…7d1e"), "{tool}: {all}");
        assert!(all.contains("ot_clm_…4e21"), "{tool}: {all}");
    }
    assert_eq!(
        h.read_config()["apiToken"],
        "ot_pat_n3wCl41m3dn3wCl41m3dn3wNEW1"
    );
}

#[tokio::test]
async fn tokens_replaced_by_a_forced_registration_stay_masked() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT2, "claimToken": CLM}).to_string()),
        ..Setup::default()
    })
    .await;
    let new_pat = "ot_pat_r3g1st3r3d_AgentAgentAgentAgent5a6b";
    let new_clm = "ot_clm_r3g1st3r3d_ClaimClaimClaimClm7c8d";
    let mut reply = echoing(&[PAT2, CLM]);
    reply["access_token"] = json!(new_pat);
    reply["claim_token"] = json!(new_clm);
    Mock::given(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(reply))
        .mount(&h.api)
        .await;
    Mock::given(path(format!("{V1}/jobs")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(echoing(&[PAT2, CLM, new_pat, new_clm])),
        )
        .mount(&h.api)
        .await;
    let r = h
        .call("opentrain_register_agent", json!({"force": true}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_hidden(&shown(&r), &[PAT2, CLM, new_pat, new_clm], "registration");
    let r = h.call("opentrain_search_jobs", json!({})).await;
    assert_hidden(&shown(&r), &[PAT2, CLM, new_pat, new_clm], "a later call");
    assert_eq!(h.read_config()["apiToken"], new_pat);
}

#[tokio::test]
async fn the_config_resource_and_prompts_mask_known_credentials() {
    // A token pasted into the base URL variable: the refusal quotes the URL.
    let dir = TempDir::new().unwrap();
    let config = opentrain_mcp::config::Config::new(
        Some(dir.path().join("cli.json")),
        Some(PLAIN),
        Some(&format!("https://api.example.com/{PLAIN}?x=1")),
    );
    let server = opentrain_mcp::OpenTrain::new(config, opentrain_mcp::Options::default());
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    let running = server.clone();
    tokio::spawn(async move {
        use rmcp::ServiceExt;
        if let Ok(s) = running.serve(server_io).await {
            let _ = s.waiting().await;
        }
    });
    use rmcp::ServiceExt;
    let client = ().serve(client_io).await.unwrap();
    let resource = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "opentrain://config",
        ))
        .await
        .unwrap();
    let text = serde_json::to_string(&resource).unwrap();
    assert!(text.contains("must not contain a query"), "{text}");
    assert_hidden(&text, &[PLAIN], "config resource");
    let prompt = client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("post_job").with_arguments(
                json!({"brief": format!("my token is {PLAIN}")})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&prompt).unwrap();
    assert!(text.contains("my token is …Qa7Q"), "{text}");
    assert_hidden(&text, &[PLAIN], "prompt");
    let r = client
        .call_tool(rmcp::model::CallToolRequestParams::new(
            "opentrain_auth_status",
        ))
        .await
        .unwrap();
    assert!(is_error(&r));
    assert_hidden(&shown(&r), &[PLAIN], "refusal quoting the base URL");
}

#[test]
fn doctor_masks_a_token_without_prefix() {
    let home = TempDir::new().unwrap();
    let base = format!("https://api.example.com/{PLAIN}?x=1");
    let out = std::process::Command::new(common::stdio::BIN)
        .arg("doctor")
        .env_clear()
        .env("HOME", home.path())
        .env("OPENTRAIN_PERSONAL_API_TOKEN", PLAIN)
        .env("OPENTRAIN_API_BASE_URL", &base)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("must not contain a query"), "{all}");
    assert_hidden(&all, &[PLAIN], "doctor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_prefix_never_reaches_stderr() {
    let api = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(echoing(&[PLAIN])))
        .mount(&api)
        .await;
    let uri = api.uri();
    let mut p = Proc::spawn(&[
        ("OPENTRAIN_PERSONAL_API_TOKEN", PLAIN),
        ("OPENTRAIN_API_BASE_URL", &uri),
        ("RUST_LOG", "debug"),
    ]);
    p.initialize();
    // An agent copying the token into an argument: rmcp logs the request at debug.
    p.call(1, "opentrain_search_jobs", json!({"q": PLAIN}));
    let answer = p.recv_until(1).pop().unwrap();
    p.call(2, "opentrain_get_credits", json!({}));
    p.recv_until(2);
    p.close_stdin();
    assert!(p.wait(Duration::from_secs(3)).success());
    let stderr = p.stderr();
    assert!(stderr.contains("opentrain_search_jobs"), "{stderr}");
    assert_hidden(&stderr, &[PLAIN], "stderr");
    assert_hidden(&answer.to_string(), &[PLAIN], "result");
}

// ---------------------------------------------------------------------------------------------
// 2. The credentials file: read off the runtime thread, regular files only, at most 64 KiB

/// Puts something at the credentials file's path.
type MakeFile = Box<dyn Fn(&std::path::Path)>;

/// Makes a FIFO at `path` with the system's `mkfifo`; `false` (after a SKIP note) without one.
fn mkfifo(path: &std::path::Path) -> bool {
    match std::process::Command::new("mkfifo").arg(path).status() {
        Ok(status) if status.success() => true,
        other => {
            eprintln!("SKIP: cannot make a FIFO with mkfifo ({other:?})");
            false
        }
    }
}

#[test]
fn a_fifo_at_cli_json_neither_freezes_the_server_nor_keeps_it_alive() {
    let home = TempDir::new().unwrap();
    let file = home.path().join(".config/opentrain/cli.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    if !mkfifo(&file) {
        return;
    }
    let mut p = Proc::spawn_in(home, &[]);
    p.initialize();
    // Every tool that needs the file reads it: refused at once, naming the file.
    p.call(1, "opentrain_auth_status", json!({}));
    p.call(2, "opentrain_register_agent", json!({}));
    p.send(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}));
    let seen = p.recv_until(3);
    assert_eq!(seen.len(), 3, "{seen:?}");
    for answer in &seen[..2] {
        let t = answer["result"]["content"][0]["text"].as_str().unwrap();
        assert_eq!(answer["result"]["isError"], true, "{t}");
        assert!(
            t.contains(&file.display().to_string()) && t.contains("a FIFO"),
            "{t}"
        );
    }
    p.send(
        json!({"jsonrpc": "2.0", "id": 4, "method": "resources/read",
        "params": {"uri": "opentrain://config"}}),
    );
    let config = p.recv_until(4).pop().unwrap();
    assert!(config.to_string().contains("FIFO"), "{config}");
    p.close_stdin();
    assert!(p.wait(Duration::from_secs(3)).success());
}

#[tokio::test]
async fn only_a_regular_file_of_at_most_64_kib_is_read() {
    let big = format!("[{}1]", "1,".repeat(40_000));
    let cases: Vec<(&str, MakeFile)> = vec![
        (
            "over the 65536-byte limit",
            Box::new(move |p| std::fs::write(p, &big).unwrap()),
        ),
        (
            "a directory, not a regular file",
            Box::new(|p| std::fs::create_dir(p).unwrap()),
        ),
    ];
    for (says, make) in cases {
        let h = Harness::with(Setup {
            env_token: None,
            ..Setup::default()
        })
        .await;
        std::fs::create_dir_all(h.config_path().parent().unwrap()).unwrap();
        make(&h.config_path());
        let r = h.call("opentrain_auth_status", json!({})).await;
        assert!(is_error(&r));
        let t = text(&r);
        assert!(
            t.contains(says) && t.contains(&h.config_path().display().to_string()),
            "{says}: {t}"
        );
        assert!(h.requests().await.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Registration never orphans an account

/// `POST /api/agent/identity` answering a fresh account.
async fn mount_registration(h: &Harness) {
    Mock::given(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "registration_id": "reg_1", "access_token": PAT2, "claim_token": CLM,
            "scopes": ["jobs:read"], "claim_token_expires_at": "2026-12-02T00:00:00Z"})))
        .mount(&h.api)
        .await;
}

#[tokio::test]
async fn registration_is_refused_unsent_when_the_token_could_not_be_saved() {
    let lock_dir = |p: &std::path::Path| std::fs::create_dir(p.with_file_name("cli.json.lock"));
    let cases: Vec<(&str, Value, &str, MakeFile)> = vec![
        (
            "a directory at cli.json",
            json!({}),
            "a directory, not a regular file",
            Box::new(|p| std::fs::create_dir(p).unwrap()),
        ),
        (
            "a directory at the lock file",
            json!({}),
            "could not open the lock file",
            Box::new(move |p| lock_dir(p).unwrap()),
        ),
        (
            "a directory at the lock file, forced",
            json!({"force": true}),
            "could not open the lock file",
            Box::new(move |p| lock_dir(p).unwrap()),
        ),
        (
            "a FIFO at cli.json",
            json!({}),
            "a FIFO",
            Box::new(|p| assert!(mkfifo(p))),
        ),
    ];
    for (label, args, says, make) in cases {
        let h = Harness::with(Setup {
            env_token: None,
            ..Setup::default()
        })
        .await;
        mount_registration(&h).await;
        std::fs::create_dir_all(h.config_path().parent().unwrap()).unwrap();
        make(&h.config_path());
        let r = h.call("opentrain_register_agent", args).await;
        let t = text(&r);
        assert!(is_error(&r), "{label}: {t}");
        assert!(t.contains(says), "{label}: {t}");
        assert!(
            h.requests().await.is_empty(),
            "{label}: an account was created"
        );
    }
    // An unreadable file, for a user who is not root (root reads it anyway).
    let h = Harness::with(Setup {
        env_token: None,
        file: Some("{}".into()),
        ..Setup::default()
    })
    .await;
    mount_registration(&h).await;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(h.config_path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(h.config_path()).is_ok() {
        eprintln!("SKIP: running as root, a mode-000 file is still readable");
        return;
    }
    let r = h.call("opentrain_register_agent", json!({})).await;
    assert!(is_error(&r), "{}", text(&r));
    assert!(h.requests().await.is_empty(), "an account was created");
}

/// Answers the registration, but first puts a directory where the credentials file goes, so
/// the save that follows fails although the check before it passed.
struct RegisterThenBreakTheFile(std::path::PathBuf);

impl wiremock::Respond for RegisterThenBreakTheFile {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let _ = std::fs::remove_file(&self.0);
        std::fs::create_dir_all(&self.0).unwrap();
        ResponseTemplate::new(201).set_body_json(json!({
            "registration_id": "reg_1", "access_token": PAT2, "claim_token": CLM,
            "scopes": ["jobs:read"]}))
    }
}

#[tokio::test]
async fn a_token_that_cannot_be_saved_after_all_is_kept_in_a_private_file() {
    let h = Harness::with(Setup {
        env_token: None,
        ..Setup::default()
    })
    .await;
    Mock::given(path("/api/agent/identity"))
        .respond_with(RegisterThenBreakTheFile(h.config_path()))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_register_agent", json!({})).await;
    let t = text(&r);
    assert!(is_error(&r), "{t}");
    assert_hidden(&shown(&r), &[PAT2, CLM], "the answer");
    let dir = h.config_path().parent().unwrap().to_path_buf();
    let kept: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("cli.json.unsaved-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{t}");
    assert!(t.contains(&kept[0].display().to_string()), "{t}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&kept[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&kept[0]).unwrap()).unwrap();
    assert_eq!(saved["apiToken"], PAT2);
    assert_eq!(saved["claimToken"], CLM);
    assert_eq!(saved["baseUrl"], h.api.uri());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_at_the_temp_names_do_not_stop_a_registration() {
    let api = wiremock::MockServer::start().await;
    Mock::given(path("/api/agent/identity"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "registration_id": "reg_1", "access_token": PAT2, "claim_token": CLM,
            "scopes": ["jobs:read"]})))
        .mount(&api)
        .await;
    let uri = api.uri();
    let mut p = Proc::spawn(&[("OPENTRAIN_API_BASE_URL", &uri)]);
    p.initialize();
    let dir = p.config_path().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    for n in 0..4 {
        std::fs::create_dir(dir.join(format!(".cli.json.{}.{n}.tmp", p.pid()))).unwrap();
    }
    p.call(1, "opentrain_register_agent", json!({}));
    let answer = p.recv_until(1).pop().unwrap();
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(p.config_path()).unwrap()).unwrap();
    assert_eq!(saved["apiToken"], PAT2);
}

// ---------------------------------------------------------------------------------------------
// 9. File-system hygiene

#[tokio::test]
async fn the_lock_file_is_never_created_through_a_symlink() {
    let h = Harness::with(Setup {
        env_token: None,
        ..Setup::default()
    })
    .await;
    mount_registration(&h).await;
    let dir = h.config_path().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    let victim = h.dir.path().join("victim");
    std::os::unix::fs::symlink(&victim, dir.join("cli.json.lock")).unwrap();
    let r = h.call("opentrain_register_agent", json!({})).await;
    let t = text(&r);
    assert!(is_error(&r), "{t}");
    assert!(t.contains("could not open the lock file"), "{t}");
    assert!(!victim.exists(), "a file was created through the symlink");
    assert!(h.requests().await.is_empty(), "an account was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credentials_file_others_can_read_is_warned_about_once() {
    use std::os::unix::fs::PermissionsExt;
    let api = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&api)
        .await;
    let home = TempDir::new().unwrap();
    let file = home.path().join(".config/opentrain/cli.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, json!({"apiToken": PAT}).to_string()).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(
        file.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let uri = api.uri();
    let mut p = Proc::spawn_in(home, &[("OPENTRAIN_API_BASE_URL", &uri)]);
    p.initialize();
    for id in 1..=3 {
        p.call(id, "opentrain_get_credits", json!({}));
        p.recv_until(id);
        // A new version of the file is read again; still one warning.
        std::fs::write(&file, json!({"apiToken": PAT2}).to_string()).unwrap();
    }
    p.close_stdin();
    assert!(p.wait(Duration::from_secs(3)).success());
    let stderr = p.stderr();
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings[0].contains("mode 0644") && warnings[0].contains("chmod 600"),
        "{stderr}"
    );
    assert!(
        warnings[1].contains("mode 0755") && warnings[1].contains("chmod 700"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Redirects: never for a write; for a read only inside the API's own path; the token only
//    ever to /api/public/v1

#[tokio::test]
async fn a_write_answered_with_a_redirect_is_an_error_and_nothing_follows() {
    for status in [301, 302, 303, 307, 308] {
        for target in ["/admin/delete-everything", "/api/public/v1/jobs/j2/close"] {
            let h = Harness::new().await;
            Mock::given(path(format!("{V1}/jobs/j/close")))
                .respond_with(ResponseTemplate::new(status).insert_header("Location", target))
                .mount(&h.api)
                .await;
            Mock::given(wiremock::matchers::any())
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"job": {}})))
                .mount(&h.api)
                .await;
            let r = h.call("opentrain_close_job", json!({"jobId": "j"})).await;
            let t = text(&r);
            assert!(is_error(&r), "{status} {target}: {t}");
            assert!(
                t.contains(&format!("answered {status} with a redirect to {target}"))
                    && t.contains("redirects a write is an error"),
                "{status} {target}: {t}"
            );
            let reqs = h.requests().await;
            assert_eq!(
                reqs.len(),
                1,
                "{status} {target}: the redirect was followed"
            );
        }
    }
}

#[tokio::test]
async fn a_read_follows_redirects_only_inside_the_api_path_on_the_same_origin() {
    let refused = [
        "/admin/delete-everything",
        "/api/agent/identity",
        "/api/public/v10/credits",
        "/api/public/v1/../../admin",
        "/api/public/v1/%2e%2e/%2E%2E/admin",
        "//evil.example/api/public/v1/credits",
    ];
    for target in refused {
        let h = Harness::new().await;
        Mock::given(path(format!("{V1}/credits")))
            .respond_with(ResponseTemplate::new(302).insert_header("Location", target))
            .mount(&h.api)
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"credits": {}})))
            .mount(&h.api)
            .await;
        let r = h.call("opentrain_get_credits", json!({})).await;
        let t = text(&r);
        assert!(is_error(&r), "{target}: {t}");
        assert!(t.contains("within the API's own path"), "{target}: {t}");
        assert_eq!(h.requests().await.len(), 1, "{target} was followed");
    }
    // Inside the path: followed, the token sent only there; the tokenless search stays so.
    let h = Harness::new().await;
    Mock::given(path(format!("{V1}/credits")))
        .respond_with(ResponseTemplate::new(308).insert_header("Location", "v2/../credits-moved"))
        .mount(&h.api)
        .await;
    Mock::given(path(format!("{V1}/credits-moved")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("credits_balance")))
        .mount(&h.api)
        .await;
    Mock::given(path(format!("{V1}/jobs")))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", format!("{V1}/jobs2")))
        .mount(&h.api)
        .await;
    Mock::given(path(format!("{V1}/jobs2")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"jobs": []})))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_get_credits", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let r = h.call("opentrain_search_jobs", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let reqs = h.requests().await;
    let seen: Vec<(String, bool)> = reqs
        .iter()
        .map(|r| {
            (
                r.url.path().to_owned(),
                r.headers.contains_key("authorization"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (format!("{V1}/credits"), true),
            (format!("{V1}/credits-moved"), true),
            (format!("{V1}/jobs"), false),
            (format!("{V1}/jobs2"), false),
        ]
    );
}

#[tokio::test]
async fn with_a_base_path_a_redirect_must_stay_under_it() {
    let api = wiremock::MockServer::start().await;
    let dir = TempDir::new().unwrap();
    let config = opentrain_mcp::config::Config::new(
        Some(dir.path().join("cli.json")),
        Some(PAT),
        Some(&format!("{}/tenant", api.uri())),
    );
    let server = opentrain_mcp::OpenTrain::new(config, opentrain_mcp::Options::default());
    Mock::given(path(format!("/tenant{V1}/credits")))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", format!("{V1}/credits")))
        .mount(&api)
        .await;
    Mock::given(path(format!("{V1}/credits")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"credits": {}})))
        .mount(&api)
        .await;
    let r = server
        .run(opentrain_mcp::api::Request::get("/credits"), |_| {
            "ok".into()
        })
        .await;
    assert!(is_error(&r), "{}", text(&r));
    assert_eq!(api.received_requests().await.unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 8. Numbers are sent exactly as written, or refused

/// A JSON number from its text (so a literal beyond u64 stays what serde_json makes of it).
fn number(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn numbers_that_cannot_be_sent_exactly_or_are_out_of_range_are_refused() {
    let milestone = |field: &str, n: Value| {
        let mut args = json!({"contractId": "c1", "description": "Batch"});
        args[field] = n;
        args
    };
    let hire = |n: Value| json!({"proposalId": "p1", "milestone": {"name": "First", "amount": n}});
    check_refused(vec![
        Refused {
            tool: "opentrain_create_milestone",
            args: milestone("volume", number("18446744073709551616")),
            says: "cannot be sent exactly",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: milestone("volume", number("9007199254740993")),
            says: "cannot be sent exactly: 9007199254740993 is beyond 9007199254740991",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: milestone("amountUsd", number("9007199254740993")),
            says: "cannot be sent exactly",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: milestone("amountUsd", number("1e-320")),
            says: "cannot be sent exactly: 1e-320 is too small",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: milestone("amountUsd", number("12.345")),
            says: "must be whole cents",
        },
        Refused {
            tool: "opentrain_create_milestone",
            args: milestone("amountUsd", number("1e15")),
            says: "cannot be sent exactly",
        },
        Refused {
            tool: "opentrain_hire_proposal",
            args: hire(number("0.001")),
            says: "milestone.amount: must be whole cents",
        },
        Refused {
            tool: "opentrain_create_credit_top_up",
            args: json!({"amountUsd": number("10.005")}),
            says: "must be whole cents",
        },
        Refused {
            tool: "opentrain_list_jobs",
            args: json!({"limit": number("9007199254740993")}),
            says: "limit: cannot be sent exactly",
        },
        Refused {
            tool: "opentrain_list_jobs",
            args: json!({"limit": number("1e300")}),
            says: "limit: cannot be sent exactly",
        },
    ])
    .await;
}

#[tokio::test]
async fn numbers_inside_the_range_go_out_exactly_as_written() {
    for (tool, args, key, sent) in [
        (
            "opentrain_create_milestone",
            json!({"contractId": "c1", "description": "B", "amountUsd": number("90071992547.41")}),
            "amountUsd",
            "90071992547.41",
        ),
        (
            "opentrain_create_milestone",
            json!({"contractId": "c1", "description": "B", "amountUsd": number("0.01")}),
            "amountUsd",
            "0.01",
        ),
        (
            "opentrain_create_credit_top_up",
            json!({"amountUsd": number("100.5")}),
            "amountUsd",
            "100.5",
        ),
        (
            "opentrain_create_credit_top_up",
            json!({"amountUsd": number("250.0")}),
            "amountUsd",
            "250",
        ),
    ] {
        let h = Harness::new().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
            .mount(&h.api)
            .await;
        let r = h.call(tool, args.clone()).await;
        assert!(!is_error(&r), "{args}: {}", text(&r));
        let body = String::from_utf8(h.only_request().await.body).unwrap();
        assert!(
            body.contains(&format!("\"{key}\":{sent}")),
            "{args} sent {body}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Requests that cannot be parsed are answered under their id; duplicate ids are refused

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_requests_with_a_readable_id_get_an_error_with_that_id() {
    let mut p = Proc::spawn(&[]);
    p.initialize();
    let call = |id: &str, q: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"opentrain_search_jobs","arguments":{{"q":{q}}}}}}}"#
        )
    };
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let deeper = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let many = format!("[{}1]", "1,".repeat(30_000));
    let cases = [
        (call("1", r#""\ud800""#), json!(1), -32700),
        (call("2", "1e309"), json!(2), -32700),
        (call(r#""n""#, "NaN"), json!("n"), -32700),
        (call("4", &deep), json!(4), -32600),
        (call("5", &deeper), json!(5), -32600),
        (call("6", &many), json!(6), -32600),
        // The id after the part that cannot be parsed.
        (
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"x":-Infinity},"id":7}"#.into(),
            json!(7),
            -32700,
        ),
    ];
    for (line, _, _) in &cases {
        p.send_raw(line);
    }
    p.send(json!({"jsonrpc": "2.0", "id": 99, "method": "ping"}));
    let seen = p.recv_until(99);
    for (line, id, code) in &cases {
        let answer = seen
            .iter()
            .find(|m| &m["id"] == id)
            .unwrap_or_else(|| panic!("no answer with id {id} to {:.80}: {seen:?}", line));
        assert_eq!(answer["error"]["code"], *code, "{answer}");
    }
    assert_eq!(seen.len(), cases.len() + 1, "{seen:?}");
    p.close_stdin();
    assert!(p.wait(Duration::from_secs(3)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_id_is_in_flight_is_refused_and_runs_once() {
    let api = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"job": {"id": "j1", "status": "CLOSED"}}))
                .set_delay(Duration::from_millis(500)),
        )
        .mount(&api)
        .await;
    let uri = api.uri();
    let mut p = Proc::spawn(&[
        ("OPENTRAIN_PERSONAL_API_TOKEN", PAT),
        ("OPENTRAIN_API_BASE_URL", &uri),
    ]);
    p.initialize();
    p.call(6, "opentrain_close_job", json!({"jobId": "j1"}));
    p.call(6, "opentrain_close_job", json!({"jobId": "j1"}));
    let first = p.recv();
    let second = p.recv();
    let (refusal, result) = if first.get("error").is_some() {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(refusal["id"], 6);
    assert_eq!(refusal["error"]["code"], -32600, "{refusal}");
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap()
            .contains("still in flight"),
        "{refusal}"
    );
    assert_eq!(result["id"], 6);
    assert_eq!(result["result"]["isError"], false, "{result}");
    assert_eq!(api.received_requests().await.unwrap().len(), 1);
    // Once answered, the id may be used again.
    p.call(6, "opentrain_close_job", json!({"jobId": "j1"}));
    assert_eq!(p.recv()["result"]["isError"], false);
    p.close_stdin();
    assert!(p.wait(Duration::from_secs(3)).success());
}

// ---------------------------------------------------------------------------------------------
// 4. Backpressure: a client that stops reading stops the server reading; stdout gone ends it

/// The server's resident memory now, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_stops_the_server_reading_and_running() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // About 3 MB of calls: more than the pipe and the server's read-ahead hold.
    const CALLS: usize = 20_000;
    let api = wiremock::MockServer::start().await;
    // A 4 KB answer: a few fill the stdout pipe.
    let mut body = fixture("credits_balance");
    body["credits"]["padding"] = json!("x".repeat(4_000));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&api)
        .await;
    let home = TempDir::new().unwrap();
    let mut child = std::process::Command::new(common::stdio::BIN)
        .env_clear()
        .env("HOME", home.path())
        .env("OPENTRAIN_PERSONAL_API_TOKEN", PAT)
        .env("OPENTRAIN_API_BASE_URL", api.uri())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    )
    .unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    // Pipeline every call from a thread, and read nothing meanwhile.
    let written = Arc::new(AtomicUsize::new(0));
    let progress = written.clone();
    std::thread::spawn(move || {
        for id in 1..=CALLS {
            let call = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"opentrain_get_credits","arguments":{{}}}}}}"#
            );
            if writeln!(stdin, "{call}").is_err() {
                return;
            }
            progress.fetch_add(1, Ordering::SeqCst);
        }
        // Keep stdin open until the process is killed.
        std::thread::sleep(Duration::from_secs(60));
    });
    // Wait until neither the writer nor the API make progress for a second (or 30 s pass).
    let started = std::time::Instant::now();
    let (mut last, mut still) = ((0, 0), 0);
    while still < 5 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = (
            written.load(Ordering::SeqCst),
            api.received_requests().await.unwrap().len(),
        );
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    let (sent, ran) = last;
    let rss = rss_kib(pid);
    assert!(
        sent < CALLS,
        "the server read all {CALLS} calls although their answers could not be delivered"
    );
    assert!(
        ran <= 200,
        "the server ran {ran} calls whose answers could not be delivered"
    );
    assert!(rss < 64 * 1024, "{rss} KiB resident");
    // Reading again, answers flow and the writer moves on.
    for _ in 0..500 {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "stdout ended");
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(answer["result"]["isError"], false, "{answer}");
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_stdout_is_gone_nothing_more_runs_and_the_process_exits() {
    use std::io::{BufRead, BufReader, Write};
    let api = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"job": {}})))
        .mount(&api)
        .await;
    let home = TempDir::new().unwrap();
    let mut child = std::process::Command::new(common::stdio::BIN)
        .env_clear()
        .env("HOME", home.path())
        .env("OPENTRAIN_PERSONAL_API_TOKEN", PAT)
        .env("OPENTRAIN_API_BASE_URL", api.uri())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    )
    .unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    // The client goes away on the reading side; the next answer cannot be written.
    drop(stdout);
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"ping"}}"#).unwrap();
    stdin.flush().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let mut exited = None;
    let mut sent_after = 0;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        // Writes keep coming (while the pipe takes them): none may run.
        let close = format!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"opentrain_close_job","arguments":{{"jobId":"j1"}}}}}}"#,
            100 + sent_after
        );
        if writeln!(stdin, "{close}")
            .and_then(|()| stdin.flush())
            .is_ok()
        {
            sent_after += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        exited.is_some(),
        "the process kept running after stdout closed"
    );
    let ran = api.received_requests().await.unwrap().len();
    assert_eq!(
        ran, 0,
        "{ran} of {sent_after} writes ran after stdout closed"
    );
}
