//! Test harness: the real server in-process, driven by a real MCP client over an in-memory pipe,
//! talking to a wiremock API on loopback, with its credentials file in a temp directory.
#![allow(dead_code)]

pub mod remote;
pub mod stdio;

use std::path::PathBuf;
use std::time::Duration;

use opentrain_mcp::config::Config;
pub use opentrain_mcp::filter::Selection;
pub use opentrain_mcp::tools::result::format::ResultFormat;
use opentrain_mcp::{OpenTrain, Options};
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use tempfile::TempDir;
use wiremock::MockServer;

/// A realistic personal token (the docs only show `ot_pat_...`).
pub const PAT: &str = "ot_pat_a1b2c3d4_S3cr3tS3cr3tS3cr3tS3cr3t9f2c";
pub const PAT2: &str = "ot_pat_e5f6a7b8_Cl41m3dCl41m3dCl41m3dXyZ7d1e";
pub const CLM: &str = "ot_clm_Q9w8E7r6T5y4U3i2O1p0aSdF4e21";

pub struct Setup {
    /// `OPENTRAIN_PERSONAL_API_TOKEN`.
    pub env_token: Option<String>,
    /// Point `OPENTRAIN_API_BASE_URL` at the mock API (else the file or the default decides).
    pub base_url_from_env: bool,
    /// Contents of cli.json before the server starts (raw text, so tests can write corrupt files).
    pub file: Option<String>,
    pub timeout: Duration,
    /// The suites that check the API's exact answer use `structured` (the vendor's contract);
    /// tests of the default format set `text`.
    pub result_format: ResultFormat,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            env_token: Some(PAT.to_owned()),
            base_url_from_env: true,
            file: None,
            timeout: Duration::from_secs(5),
            result_format: ResultFormat::Structured,
        }
    }
}

pub struct Harness {
    pub api: MockServer,
    pub dir: TempDir,
    pub server: OpenTrain,
    pub client: RunningService<RoleClient, ()>,
}

impl Harness {
    /// A server with an env token pointing at a fresh mock API.
    pub async fn new() -> Harness {
        Harness::with(Setup::default()).await
    }

    pub async fn with(setup: Setup) -> Harness {
        Harness::build(setup, OpenTrain::new).await
    }

    /// A server serving only what `selection` enables (toolsets, tools, read-only…).
    pub async fn with_selection(setup: Setup, selection: Selection) -> Harness {
        Harness::build(setup, move |config, options| {
            OpenTrain::with_selection(config, options, &selection).expect("a valid selection")
        })
        .await
    }

    async fn build(setup: Setup, make: impl FnOnce(Config, Options) -> OpenTrain) -> Harness {
        let api = MockServer::start().await;
        let dir = TempDir::new().expect("temp dir");
        let path = dir.path().join("opentrain").join("cli.json");
        if let Some(text) = &setup.file {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let base = setup.base_url_from_env.then(|| api.uri());
        let config = Config::new(Some(path), setup.env_token.as_deref(), base.as_deref());
        let server = make(
            config,
            Options {
                timeout: setup.timeout,
                result_format: setup.result_format,
                setup_error: None,
                ..Options::default()
            },
        );
        let (server_io, client_io) = tokio::io::duplex(1 << 20);
        let running = server.clone();
        // The server's own transport, as the binary runs it.
        let (read, write) = tokio::io::split(server_io);
        let transport = opentrain_mcp::transport::stdio::LineTransport::new(read, write);
        tokio::spawn(async move {
            if let Ok(service) = running.serve(transport).await {
                let _ = service.waiting().await;
            }
        });
        let client = ().serve(client_io).await.expect("client initializes");
        Harness {
            api,
            dir,
            server,
            client,
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("opentrain").join("cli.json")
    }

    pub fn write_config(&self, value: &Value) {
        let path = self.config_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    }

    pub fn read_config(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.config_path()).unwrap()).unwrap()
    }

    pub async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let mut params = CallToolRequestParams::new(tool.to_owned());
        if let Value::Object(map) = args {
            params = params.with_arguments(map);
        }
        self.client
            .call_tool(params)
            .await
            .expect("tools/call answered")
    }

    pub async fn tools(&self) -> Vec<Tool> {
        self.client
            .list_all_tools()
            .await
            .expect("tools/list answered")
    }

    pub async fn requests(&self) -> Vec<wiremock::Request> {
        self.api.received_requests().await.unwrap_or_default()
    }

    /// The single request the API received.
    pub async fn only_request(&self) -> wiremock::Request {
        let mut all = self.requests().await;
        assert_eq!(
            all.len(),
            1,
            "expected exactly one request, got {}",
            all.len()
        );
        all.remove(0)
    }
}

pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The result's `structuredContent`. On an error, structured mode adds the next step as
/// `whatToDo`: it is checked here against the text's "What to do:" line and left out of the
/// value returned, so the suites compare `{"status", "error"}` with the body exactly.
pub fn structured(result: &CallToolResult) -> &Value {
    let value = result
        .structured_content
        .as_ref()
        .expect("structuredContent present");
    if !is_error(result) {
        return value;
    }
    let text = text(result);
    let want = text
        .lines()
        .find_map(|l| l.strip_prefix("What to do: "))
        .map(str::to_owned);
    assert_eq!(
        value.get("whatToDo").and_then(Value::as_str),
        want.as_deref(),
        "an error's whatToDo is the text's next step: {value} / {text}"
    );
    if want.is_none() {
        return value;
    }
    let mut without = value.clone();
    if let Some(map) = without.as_object_mut() {
        map.remove("whatToDo");
    }
    // Leaked: a test process is short, and the suites compare against a reference.
    Box::leak(Box::new(without))
}

/// `structuredContent` exactly as sent, `whatToDo` included.
pub fn raw_structured(result: &CallToolResult) -> &Value {
    result
        .structured_content
        .as_ref()
        .expect("structuredContent present")
}

pub fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

/// A fixture from `fixtures/` (the docs' own examples).
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// What a request must look like, exactly.
pub struct Sent<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw query string (`None`: no query at all).
    pub query: Option<&'a str>,
    /// `Some(token)`: `Authorization: Bearer <token>`; `None`: no Authorization header.
    pub bearer: Option<&'a str>,
    pub body: SentBody<'a>,
}

pub enum SentBody<'a> {
    None,
    Json(Value),
    Form(&'a str),
}

pub fn assert_sent(req: &wiremock::Request, want: &Sent) {
    let what = format!("{} {}", req.method, req.url);
    assert_eq!(req.method.as_str(), want.method, "method of {what}");
    assert_eq!(req.url.path(), want.path, "path of {what}");
    assert_eq!(req.url.query(), want.query, "query of {what}");
    let header = |name: &str| {
        req.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("<non-ascii>").to_owned())
    };
    assert_eq!(
        header("authorization"),
        want.bearer.map(|t| format!("Bearer {t}")),
        "Authorization of {what}"
    );
    assert_eq!(
        header("user-agent").as_deref(),
        Some(concat!("opentrain-mcp/", env!("CARGO_PKG_VERSION"))),
        "User-Agent of {what}"
    );
    assert_eq!(
        header("accept").as_deref(),
        Some("application/json"),
        "Accept of {what}"
    );
    match &want.body {
        SentBody::None => {
            assert!(
                req.body.is_empty(),
                "{what} should have no body, got {:?}",
                String::from_utf8_lossy(&req.body)
            );
            assert_eq!(header("content-type"), None, "Content-Type of {what}");
        }
        SentBody::Json(expected) => {
            assert_eq!(
                header("content-type").as_deref(),
                Some("application/json"),
                "Content-Type of {what}"
            );
            let got: Value = serde_json::from_slice(&req.body).expect("JSON body");
            assert_eq!(&got, expected, "body of {what}");
        }
        SentBody::Form(expected) => {
            assert_eq!(
                header("content-type").as_deref(),
                Some("application/x-www-form-urlencoded"),
                "Content-Type of {what}"
            );
            assert_eq!(
                String::from_utf8_lossy(&req.body),
                *expected,
                "body of {what}"
            );
        }
    }
}

/// One row of a toolset's table: the arguments, the exact request they must produce, the
/// documented answer, and what the summary must tell the agent.
pub struct Case {
    pub tool: &'static str,
    pub args: Value,
    pub sent: Sent<'static>,
    /// HTTP status of the canned answer.
    pub status: u16,
    /// The canned answer (a fixture from the docs).
    pub reply: Value,
    /// Substrings the text summary must contain.
    pub summary: &'static [&'static str],
}

/// Runs each case against a fresh server and mock API: exactly one request, exactly as listed;
/// a success result whose `structuredContent` is the answer unchanged; a summary that says what
/// it must.
pub async fn check_cases(cases: Vec<Case>) {
    for case in cases {
        let h = Harness::new().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(
                wiremock::ResponseTemplate::new(case.status).set_body_json(case.reply.clone()),
            )
            .mount(&h.api)
            .await;
        let r = h.call(case.tool, case.args.clone()).await;
        let label = format!("{} {}", case.tool, case.args);
        assert!(!is_error(&r), "{label}: unexpected error: {}", text(&r));
        assert_sent(&h.only_request().await, &case.sent);
        assert_eq!(
            structured(&r),
            &case.reply,
            "{label}: structuredContent must be the answer unchanged"
        );
        let t = text(&r);
        for needle in case.summary {
            assert!(
                t.contains(needle),
                "{label}: summary lacks {needle:?}:\n{t}"
            );
        }
        assert!(!t.contains(PAT), "{label}: token in summary");
    }
}

/// Arguments that must be refused locally: `isError`, a message containing `says`, and no
/// request at all.
pub struct Refused {
    pub tool: &'static str,
    pub args: Value,
    pub says: &'static str,
}

pub async fn check_refused(cases: Vec<Refused>) {
    let h = Harness::new().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&h.api)
        .await;
    for case in cases {
        let r = h.call(case.tool, case.args.clone()).await;
        let t = text(&r);
        assert!(
            is_error(&r),
            "{} {} should be refused, got: {t}",
            case.tool,
            case.args
        );
        assert!(
            t.contains(case.says),
            "{} {}: message lacks {:?}:\n{t}",
            case.tool,
            case.args,
            case.says
        );
        assert!(
            h.requests().await.is_empty(),
            "{} {}: a request was sent",
            case.tool,
            case.args
        );
    }
}

/// Calls a tool against an API that answers `status` with `body`: the result must be an error
/// whose `structuredContent` is `{"status", "error": body}`. Returns its text and how many
/// requests the API received.
pub async fn check_failure(tool: &str, args: Value, status: u16, body: &Value) -> (String, usize) {
    let h = Harness::new().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(status).set_body_json(body.clone()))
        .mount(&h.api)
        .await;
    let r = h.call(tool, args).await;
    assert!(is_error(&r), "{tool} should fail: {}", text(&r));
    assert_eq!(
        structured(&r),
        &serde_json::json!({"status": status, "error": body}),
        "{tool}"
    );
    (text(&r), h.requests().await.len())
}

/// An argument the tool does not take (`key`, dotted for a nested one): the call must name it
/// in its text and send exactly what it sends without it.
pub struct Ignored {
    pub tool: &'static str,
    pub args: Value,
    pub key: &'static str,
}

/// What the API received, comparably: method, URL and body of each request.
pub async fn received(h: &Harness) -> Vec<(String, String, Vec<u8>)> {
    h.requests()
        .await
        .into_iter()
        .map(|r| (r.method.to_string(), r.url.to_string(), r.body))
        .collect()
}

pub async fn check_ignored(cases: Vec<Ignored>) {
    for case in cases {
        let mut without = case.args.clone();
        let mut parts: Vec<&str> = case.key.split('.').collect();
        let leaf = parts.pop().unwrap();
        let mut at = &mut without;
        for p in parts {
            at = at.get_mut(p).expect("the key's parent is in the args");
        }
        at.as_object_mut()
            .unwrap()
            .remove(leaf)
            .expect("the key is in the args");

        let mut sent = Vec::new();
        let mut texts = Vec::new();
        for args in [case.args.clone(), without] {
            let h = Harness::new().await;
            wiremock::Mock::given(wiremock::matchers::any())
                .respond_with(
                    wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({})),
                )
                .mount(&h.api)
                .await;
            let r = h.call(case.tool, args).await;
            // The API's URL differs per harness: compare what follows the origin.
            let origin = h.api.uri();
            sent.push(
                received(&h)
                    .await
                    .into_iter()
                    .map(|(m, u, b)| (m, u.replacen(&origin, "", 1), b))
                    .collect::<Vec<_>>(),
            );
            texts.push(text(&r));
        }
        let note = format!("Ignored unknown argument \"{}\"", case.key);
        assert!(
            texts[0].contains(&note),
            "{} {}: the text must name {:?}:\n{}",
            case.tool,
            case.args,
            case.key,
            texts[0]
        );
        assert_eq!(
            sent[0], sent[1],
            "{} {}: {:?} changed what was sent",
            case.tool, case.args, case.key
        );
        assert_eq!(
            texts[0].replace(
                &format!("\n{note} (this tool does not take it; it was not sent)."),
                ""
            ),
            texts[1],
            "{}: only the note differs",
            case.tool
        );
    }
}
