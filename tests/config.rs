//! The credentials file and where settings come from: precedence, re-reading on change, atomic
//! 0600 writes that keep unknown keys, corrupt files, and concurrent writers.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use opentrain_mcp::config::{Config, ConfigError, OnCorrupt, TokenSource, default_path};
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

fn file_in(dir: &TempDir) -> PathBuf {
    dir.path().join("opentrain").join("cli.json")
}

fn write(path: &PathBuf, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_path_is_the_literal_xdg_path_on_every_platform() {
    assert_eq!(
        default_path(Some("/cfg"), Some("/home/me")),
        Some(PathBuf::from("/cfg/opentrain/cli.json"))
    );
    assert_eq!(
        default_path(None, Some("/Users/me")),
        Some(PathBuf::from("/Users/me/.config/opentrain/cli.json"))
    );
    assert_eq!(
        default_path(Some(""), Some("/Users/me")),
        Some(PathBuf::from("/Users/me/.config/opentrain/cli.json"))
    );
}

#[test]
fn the_env_token_wins_and_the_file_is_not_read() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    // Even a corrupt file, or one naming another host, changes nothing when the env token is set.
    write(&path, "{ corrupt");
    let config = Config::new(Some(path.clone()), Some(PAT), None);
    let s = config.settings().unwrap();
    assert_eq!(s.token.unwrap().expose(), PAT);
    assert_eq!(s.token_source, TokenSource::Env);
    assert_eq!(s.base_url.as_str(), "https://app.opentrain.ai/");
    assert_eq!(s.base_url_origin, "the default");

    write(
        &path,
        &json!({"apiToken": PAT2, "baseUrl": "https://evil.example"}).to_string(),
    );
    let s = config.settings().unwrap();
    assert_eq!(s.token.unwrap().expose(), PAT);
    assert_eq!(
        s.base_url.as_str(),
        "https://app.opentrain.ai/",
        "a file cannot redirect the env token"
    );
}

#[test]
fn the_env_base_url_wins_over_the_file() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    write(
        &path,
        &json!({"apiToken": PAT2, "baseUrl": "https://file.example"}).to_string(),
    );
    let config = Config::new(Some(path), None, Some("http://127.0.0.1:3000/"));
    let s = config.settings().unwrap();
    assert_eq!(s.token.unwrap().expose(), PAT2);
    assert_eq!(s.base_url.as_str(), "http://127.0.0.1:3000/");
    assert_eq!(s.base_url_origin, "OPENTRAIN_API_BASE_URL");
}

#[test]
fn the_file_supplies_token_and_base_url_without_env() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    write(
        &path,
        &json!({"apiToken": format!(" {PAT2}\n"), "baseUrl": "https://staging.opentrain.ai/"})
            .to_string(),
    );
    let config = Config::new(Some(path.clone()), None, None);
    let s = config.settings().unwrap();
    assert_eq!(s.token.unwrap().expose(), PAT2, "trimmed");
    assert_eq!(s.token_source, TokenSource::File(path.clone()));
    assert_eq!(s.base_url.as_str(), "https://staging.opentrain.ai/");
    assert!(s.base_url_origin.contains(&path.display().to_string()));
}

#[test]
fn no_file_and_no_env_means_no_token_and_the_default_url() {
    let dir = TempDir::new().unwrap();
    let config = Config::new(Some(file_in(&dir)), Some("  "), Some(""));
    let s = config.settings().unwrap();
    assert!(s.token.is_none(), "an empty env var is unset");
    assert_eq!(s.token_source, TokenSource::None);
    assert_eq!(s.base_url.as_str(), "https://app.opentrain.ai/");
}

#[test]
fn a_bad_base_url_is_refused_naming_its_source() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    let config = Config::new(
        Some(path.clone()),
        Some(PAT),
        Some("http://api.example.com"),
    );
    let e = config.settings().unwrap_err();
    assert!(matches!(e, ConfigError::BaseUrl { .. }));
    assert!(
        e.to_string().contains("OPENTRAIN_API_BASE_URL") && e.to_string().contains("https"),
        "{e}"
    );

    write(
        &path,
        &json!({"apiToken": PAT, "baseUrl": "https://user:pw@app.opentrain.ai"}).to_string(),
    );
    let e = Config::new(Some(path.clone()), None, None)
        .settings()
        .unwrap_err();
    assert!(
        e.to_string().contains("baseUrl in") && e.to_string().contains("user name"),
        "{e}"
    );
}

#[test]
fn the_file_is_read_again_when_it_changes() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    write(&path, &json!({"apiToken": PAT}).to_string());
    let config = Config::new(Some(path.clone()), None, None);
    assert_eq!(config.settings().unwrap().token.unwrap().expose(), PAT);
    // Same size, rewritten in place (as a non-atomic writer would).
    write(&path, &json!({"apiToken": PAT2}).to_string());
    assert_eq!(config.settings().unwrap().token.unwrap().expose(), PAT2);
    std::fs::remove_file(&path).unwrap();
    assert!(config.settings().unwrap().token.is_none());
}

#[test]
fn a_corrupt_file_is_an_error_naming_the_file_and_the_problem() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    for (text, problem) in [
        ("{ \"apiToken\": ", "invalid JSON"),
        ("[1, 2]", "expected a JSON object, found an array"),
        ("{\"apiToken\": 42}", "\"apiToken\" must be a string"),
        ("", "invalid JSON"),
    ] {
        write(&path, text);
        let config = Config::new(Some(path.clone()), None, None);
        let e = config.settings().unwrap_err();
        let message = e.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(problem), "{message}");
        // And writes refuse to replace it.
        let e = config.update(OnCorrupt::Refuse, |m| {
            m.insert("apiToken".into(), json!(PAT));
        });
        assert!(matches!(e, Err(ConfigError::Corrupt { .. })));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "untouched");
    }
}

#[cfg(unix)]
#[test]
fn writes_are_atomic_private_and_keep_unknown_keys() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    write(
        &path,
        "{\"zeta\": {\"nested\": [1, 2]}, \"apiToken\": \"old\", \"alpha\": true}",
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = Config::new(Some(path.clone()), None, None);
    config
        .update(OnCorrupt::Refuse, |m| {
            m.insert("apiToken".into(), json!(PAT));
            m.remove("claimToken");
        })
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value,
        json!({"zeta": {"nested": [1, 2]}, "apiToken": PAT, "alpha": true})
    );
    // Key order is preserved, the file ends with a newline, and it is private.
    assert!(text.find("zeta").unwrap() < text.find("apiToken").unwrap());
    assert!(text.ends_with("}\n"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // No temp files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The change is visible to the next read at once.
    assert_eq!(config.settings().unwrap().token.unwrap().expose(), PAT);
}

#[cfg(unix)]
#[test]
fn a_missing_directory_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("deep").join("opentrain").join("cli.json");
    let config = Config::new(Some(path.clone()), None, None);
    config
        .update(OnCorrupt::Refuse, |m| {
            m.insert("apiToken".into(), json!(PAT));
        })
        .unwrap();
    let mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn concurrent_writers_in_two_processes_never_tear_or_lose_updates() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    write(&path, "{\"keep\": \"me\"}");
    // Two Config instances share nothing in memory, like two processes: only the file lock
    // serializes them.
    let a = Arc::new(Config::new(Some(path.clone()), None, None));
    let b = Arc::new(Config::new(Some(path.clone()), None, None));
    let reader_path = path.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader_stop = stop.clone();
    let reader = std::thread::spawn(move || {
        let mut reads = 0;
        while !reader_stop.load(std::sync::atomic::Ordering::Relaxed) {
            let text = std::fs::read_to_string(&reader_path).unwrap();
            serde_json::from_str::<Value>(&text).expect("a reader never sees a torn file");
            reads += 1;
        }
        reads
    });
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let config = if t % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || {
                for i in 0..25 {
                    config
                        .update(OnCorrupt::Refuse, |m| {
                            m.insert(format!("w{t}_{i}"), json!(i));
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let map = value.as_object().unwrap();
    assert_eq!(map.len(), 8 * 25 + 1, "every update landed");
    assert_eq!(map["keep"], "me");
}

#[tokio::test]
async fn the_server_starts_with_a_corrupt_file_and_tools_explain_it() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some("{ not json".into()),
        ..Setup::default()
    })
    .await;
    assert_eq!(h.tools().await.len(), h.server.tools().len());
    let r = h.call("opentrain_auth_status", json!({})).await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.contains(&h.config_path().display().to_string()) && t.contains("invalid JSON"),
        "{t}"
    );
    assert!(h.requests().await.is_empty());
}

/// Tools that send no token do not need the credentials file: an unreadable one does not block
/// them (issue 10). The base URL then comes from the environment or the default.
#[tokio::test]
async fn tools_that_need_no_file_work_with_a_corrupt_one() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some("{ not json".into()),
        ..Setup::default()
    })
    .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "jobs": [], "nextCursor": null,
            "user_code": "439218",
            "verification_uri": "https://app.opentrain.ai/claim?token=ot_cat_1",
            "expires_in": 1800, "interval": 5, "email_sent": true
        })))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_search_jobs", json!({"q": "audio"})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let r = h
        .call(
            "opentrain_claim_account",
            json!({"email": "owner@example.com", "claimToken": CLM}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert!(
        text(&r).contains(
            "open https://app.opentrain.ai/claim?token=ot_cat_1 and enter the code 439218"
        ),
        "{}",
        text(&r)
    );
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 2);
    assert_sent(
        &reqs[0],
        &Sent {
            method: "GET",
            path: "/api/public/v1/jobs",
            query: Some("q=audio"),
            bearer: None,
            body: SentBody::None,
        },
    );
    assert_sent(
        &reqs[1],
        &Sent {
            method: "POST",
            path: "/api/agent/identity/claim",
            query: None,
            bearer: None,
            body: SentBody::Json(json!({"claim_token": CLM, "email": "owner@example.com"})),
        },
    );
    // Without an explicit claim token the file is needed, and its problem is named.
    let r = h
        .call(
            "opentrain_claim_account",
            json!({"email": "owner@example.com"}),
        )
        .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("invalid JSON"), "{}", text(&r));
    assert_eq!(h.requests().await.len(), 2);
}

#[tokio::test]
async fn a_cli_login_takes_effect_without_a_restart() {
    let h = Harness::with(Setup {
        env_token: None,
        file: Some(json!({"apiToken": PAT}).to_string()),
        ..Setup::default()
    })
    .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("auth_me")))
        .mount(&h.api)
        .await;
    h.call("opentrain_auth_status", json!({})).await;
    // What `opentrain auth login` does: replace the file.
    h.write_config(&json!({"apiToken": PAT2}));
    h.call("opentrain_auth_status", json!({})).await;
    let reqs = h.requests().await;
    assert_eq!(
        reqs[0].headers.get("authorization").unwrap(),
        &format!("Bearer {PAT}")
    );
    assert_eq!(
        reqs[1].headers.get("authorization").unwrap(),
        &format!("Bearer {PAT2}")
    );
}

#[test]
fn debug_output_never_shows_a_token() {
    let dir = TempDir::new().unwrap();
    let path = file_in(&dir);
    write(
        &path,
        &json!({"apiToken": PAT2, "claimToken": CLM}).to_string(),
    );
    let config = Config::new(Some(path), Some(PAT), None);
    let all = format!(
        "{config:?} {:?} {:?}",
        config.settings().unwrap(),
        config.read().unwrap()
    );
    for secret in [PAT, PAT2, CLM] {
        assert!(!all.contains(secret), "{all}");
    }
    assert!(all.contains("ot_pat_…9f2c"));
}
