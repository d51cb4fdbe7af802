//! The whole hiring flow through the real binary in `--sandbox` mode, over stdio as an MCP
//! client drives it: a journey that calls all 41 tools, checks every answer against the
//! documented shape (the fixtures from the docs), and proves that nothing left 127.0.0.1 and the
//! real credentials were neither read nor written.
//!
//! Network proof, twice: (1) HTTP(S)_PROXY and ALL_PROXY point at a local trap that must see no
//! connection (NO_PROXY=127.0.0.1,localhost), and (2) where `unshare -rn` works, the journey runs
//! again inside a network namespace that has only a loopback interface.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_opentrain-mcp");
const SENTINEL_TOKEN: &str = "ot_pat_SENTINEL0_NeverUseThisTokenNeverUseThis9999";
const INNER: &str = "OPENTRAIN_SANDBOX_E2E_INNER";

/// The binary in sandbox mode, as an MCP client runs it.
struct Server {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    next: u64,
}

impl Server {
    fn spawn(args: &[&str], envs: &[(&str, String)]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take().unwrap();
        Server {
            child,
            stdin,
            lines,
            next: 1,
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let line =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            let v: Value = serde_json::from_str(&line).expect("stdout carries only JSON-RPC");
            if v["id"] == id {
                return v;
            }
        }
    }

    fn initialize(&mut self) -> Value {
        let init = self.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}),
        );
        writeln!(
            self.stdin,
            "{}",
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        .unwrap();
        init["result"].clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tool result.
struct Res {
    error: bool,
    text: String,
    data: Value,
}

/// Everything the journey saw, for the checks at the end.
#[derive(Default)]
struct Seen {
    tools: BTreeSet<String>,
    texts: Vec<String>,
    structured: Vec<Value>,
}

struct Journey {
    server: Server,
    seen: Seen,
}

impl Journey {
    fn call(&mut self, tool: &str, arguments: Value) -> Res {
        let answer = self
            .server
            .request("tools/call", json!({"name": tool, "arguments": arguments}));
        let result = &answer["result"];
        assert!(result.is_object(), "{tool}: {answer}");
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        self.seen.tools.insert(tool.to_owned());
        self.seen.texts.push(format!("{tool}: {text}"));
        self.seen
            .structured
            .push(result["structuredContent"].clone());
        Res {
            error: result["isError"] == true,
            text,
            data: result["structuredContent"].clone(),
        }
    }

    /// A call that must succeed and whose answer must have the fixture's shape.
    fn ok(&mut self, tool: &str, arguments: Value, fixture: &str) -> Value {
        let r = self.call(tool, arguments);
        assert!(!r.error, "{tool} failed:\n{}", r.text);
        if !fixture.is_empty() {
            conforms(&r.data, &load(fixture), tool);
        }
        r.data
    }
}

fn load(fixture: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The answer has every key the documented example has, with the same JSON type (null on either
/// side is allowed: nullable fields); arrays are checked element-wise against the first example.
fn conforms(answer: &Value, doc: &Value, path: &str) {
    match (doc, answer) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(d), Value::Object(a)) => {
            for (k, dv) in d {
                let av = a.get(k).unwrap_or_else(|| {
                    panic!("{path}.{k} is missing; the docs show it (answer: {answer})")
                });
                conforms(av, dv, &format!("{path}.{k}"));
            }
        }
        (Value::Array(d), Value::Array(a)) => {
            if let Some(first) = d.first() {
                for (i, item) in a.iter().enumerate() {
                    conforms(item, first, &format!("{path}[{i}]"));
                }
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        _ => panic!("{path}: the docs show {doc}, the sandbox answered {answer}"),
    }
}

/// A plain HTTP/1.1 request on loopback (the human's browser, without a browser).
fn http(method: &str, url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{url} is not on 127.0.0.1"));
    let (port, path) = rest
        .split_once('/')
        .map(|(p, r)| (p, format!("/{r}")))
        .unwrap_or((rest, "/".into()));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

fn submit(url: &str, form: &[(&str, &str)]) {
    let (status, page) = http("POST", url, form);
    assert_eq!(status, 303, "the form at {url} was refused:\n{page}");
}

fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings_in(x, out)),
        _ => {}
    }
}

/// A TCP listener that counts every connection made to it.
fn trap() -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, hits)
}

struct Files {
    _tmp: TempDir,
    home: PathBuf,
    config: PathBuf,
    sandbox: PathBuf,
    cli_json: PathBuf,
}

fn files() -> Files {
    let tmp = TempDir::new().unwrap();
    let home = tmp.path().join("home");
    let config = tmp.path().join("config");
    let sandbox = tmp.path().join("sandbox");
    let cli_json = config.join("opentrain").join("cli.json");
    std::fs::create_dir_all(cli_json.parent().unwrap()).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        &cli_json,
        format!(
            "{{\"apiToken\": \"{SENTINEL_TOKEN}\", \"baseUrl\": \"https://app.opentrain.ai\"}}\n"
        ),
    )
    .unwrap();
    Files {
        home,
        config,
        sandbox,
        cli_json,
        _tmp: tmp,
    }
}

/// The journey: all 41 tools, in the order an agent would use them.
fn journey() {
    let f = files();
    let before = (
        std::fs::read(&f.cli_json).unwrap(),
        std::fs::metadata(&f.cli_json).unwrap().modified().unwrap(),
    );
    let (proxy, hits) = trap();
    let envs: Vec<(&str, String)> = vec![
        ("HOME", f.home.display().to_string()),
        ("XDG_CONFIG_HOME", f.config.display().to_string()),
        ("OPENTRAIN_PERSONAL_API_TOKEN", SENTINEL_TOKEN.into()),
        ("OPENTRAIN_API_BASE_URL", "https://app.opentrain.ai".into()),
        ("HTTP_PROXY", proxy.clone()),
        ("HTTPS_PROXY", proxy.clone()),
        ("ALL_PROXY", proxy.clone()),
        ("http_proxy", proxy.clone()),
        ("https_proxy", proxy.clone()),
        ("all_proxy", proxy.clone()),
        ("NO_PROXY", "127.0.0.1,localhost".into()),
        ("no_proxy", "127.0.0.1,localhost".into()),
    ];
    let sandbox_dir = f.sandbox.display().to_string();
    // Structured results: the journey checks each answer's shape against the fixtures.
    let mut server = Server::spawn(
        &[
            "--sandbox",
            "--sandbox-dir",
            &sandbox_dir,
            "--result-format",
            "structured",
        ],
        &envs,
    );
    let init = server.initialize();
    assert!(
        init["instructions"]
            .as_str()
            .unwrap()
            .starts_with("SANDBOX MODE"),
        "{init}"
    );
    let mut j = Journey {
        server,
        seen: Seen::default(),
    };

    // Tokenless first, then an account.
    j.ok(
        "opentrain_search_jobs",
        json!({"q": "annotation"}),
        "jobs_search.json",
    );
    let reg = j.ok(
        "opentrain_register_agent",
        json!({"agentName": "E2E agent", "organizationName": "Acme"}),
        "agent_identity.json",
    );
    assert_eq!(
        reg["credentialsSavedTo"],
        f.sandbox.join("cli.json").display().to_string()
    );
    j.ok("opentrain_auth_status", json!({}), "auth_me.json");
    j.ok(
        "opentrain_capabilities",
        json!({}),
        "job_drafts_capabilities.json",
    );
    let draft = j.ok(
        "opentrain_create_job_draft",
        json!({"jobDescription": "We need 5 fluent Spanish speakers to label sentiment in ~20,000 social media posts. Pay per label. Annotators should have prior text-classification experience."}),
        "job_drafts_create.json",
    );
    assert_eq!(draft["validation"]["publishReady"], false);
    let job = draft["jobId"].as_str().unwrap().to_owned();
    let patch: serde_json::Map<String, Value> = draft["missingFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(m["prompt"].as_str().unwrap().starts_with("ask: "));
            let field = m["field"].as_str().unwrap().to_owned();
            let answer = if m["type"] == "number" {
                json!(0.06)
            } else {
                json!(m["example"])
            };
            (field, answer)
        })
        .collect();
    let ready = j.ok(
        "opentrain_update_job_draft_fields",
        json!({"jobId": job, "patch": patch}),
        "job_drafts_update.json",
    );
    assert_eq!(ready["validation"]["publishReady"], true);
    j.ok(
        "opentrain_publish_job",
        json!({"jobId": job}),
        "jobs_publish.json",
    );
    j.ok("opentrain_list_jobs", json!({}), "jobs_mine.json");

    // Proposals arrive; hiring is refused until a human claims the account.
    let mut proposals = Vec::new();
    for _ in 0..6 {
        let list = j.ok(
            "opentrain_list_proposals",
            json!({"jobId": job}),
            "proposals_list.json",
        );
        proposals = list["proposals"].as_array().unwrap().clone();
        if proposals.len() >= 3 {
            break;
        }
    }
    assert!(proposals.len() >= 3, "proposals arrive within a few calls");
    let best = proposals
        .iter()
        .max_by(|a, b| {
            let s = |p: &Value| p["metrics"]["interviewScore"].as_f64().unwrap_or(-1.0);
            s(a).total_cmp(&s(b))
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hire = json!({"proposalId": best, "milestone": {"name": "First labeling batch", "description": "Label the first 5,000 posts", "amount": 300, "dueDate": "2026-07-01"}});
    let refused = j.call("opentrain_hire_proposal", hire.clone());
    assert!(refused.error);
    assert_eq!(refused.data["status"], 403);
    assert_eq!(
        refused.data["error"]["details"]["reason"],
        "account_claim_required"
    );

    let claim = j.ok(
        "opentrain_claim_account",
        json!({"email": "owner@example.com"}),
        "agent_identity_claim.json",
    );
    let pending = j.call("opentrain_claim_status", json!({}));
    assert!(
        !pending.error && pending.data["status"] == "pending",
        "{}",
        pending.text
    );
    let link = claim["verification_uri"].as_str().unwrap().to_owned();
    let code = claim["user_code"].as_str().unwrap().to_owned();
    let (status, page) = http("GET", &link, &[]);
    assert_eq!(status, 200);
    assert!(page.contains(&code));
    submit(&link, &[("action", "accept"), ("user_code", &code)]);
    let claimed = j.ok(
        "opentrain_claim_status",
        json!({}),
        "agent_oauth_token.json",
    );
    assert!(
        claimed["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("proposals:write"))
    );

    // Candidates, messages.
    let detail = j.ok(
        "opentrain_get_proposal",
        json!({"proposalId": best, "includeInterview": true}),
        "",
    );
    conforms(
        &json!({"proposal": detail["proposal"]}),
        &load("proposals_get.json"),
        "opentrain_get_proposal",
    );
    conforms(
        &json!({"interview": detail["interview"]}),
        &load("proposals_interview.json"),
        "opentrain_get_proposal",
    );
    let trainer = detail["proposal"]["candidate"]["profileSlug"]
        .as_str()
        .unwrap()
        .to_owned();
    let profile = j.ok(
        "opentrain_get_freelancer_profile",
        json!({"idOrSlug": trainer}),
        "freelancers_get.json",
    );
    let invited = j.ok(
        "opentrain_invite_freelancer",
        json!({"jobId": job, "freelancerId": profile["freelancer"]["id"]}),
        "proposals_invite.json",
    );
    assert_eq!(invited["alreadyInvited"], true);
    let conversation = j.ok(
        "opentrain_start_proposal_conversation",
        json!({"proposalId": best}),
        "proposals_conversation.json",
    );
    let cid = conversation["conversationId"].as_str().unwrap().to_owned();
    j.ok(
        "opentrain_send_message",
        json!({"conversationId": cid, "content": "Could you start next week?"}),
        "messages_send.json",
    );
    let thread = j.ok(
        "opentrain_read_messages",
        json!({"conversationId": cid}),
        "messages_conversation_inferred.json",
    );
    assert_eq!(
        thread["messages"].as_array().unwrap().len(),
        2,
        "the trainer replied"
    );
    j.ok("opentrain_read_messages", json!({}), "messages_list.json");

    // Money: credits, hire (co-signed), contract, milestones.
    let top_up = j.ok(
        "opentrain_create_credit_top_up",
        json!({"amountUsd": 1000}),
        "credits_top_up_created.json",
    );
    submit(
        top_up["checkoutUrl"].as_str().unwrap(),
        &[("action", "pay")],
    );
    let paid = j.ok(
        "opentrain_get_credit_top_up",
        json!({"topUpId": top_up["topUpId"]}),
        "credits_top_up.json",
    );
    assert_eq!(paid["topUp"]["status"], "COMPLETED");
    let hired = j.ok("opentrain_hire_proposal", hire, "proposals_hire.json");
    submit(
        hired["approval"]["approvalUrl"].as_str().unwrap(),
        &[("action", "confirm"), ("source", "credits")],
    );
    // (The documented example is a funding approval; a hire's result has its own keys.)
    let approval = j.ok(
        "opentrain_get_approval",
        json!({"approvalId": hired["approval"]["id"]}),
        "",
    );
    assert_eq!(approval["approval"]["status"], "confirmed");
    let result = &approval["approval"]["result"];
    assert!(
        result["hired"] == true
            && result["contractId"].is_string()
            && result["freelancerUserId"].is_string(),
        "{result}"
    );
    let credits = j.ok("opentrain_get_credits", json!({}), "credits_balance.json");
    assert_eq!(credits["credits"]["availableCents"], 100000 - 33995);
    assert_eq!(credits["credits"]["reservedCents"], 33995);
    j.ok(
        "opentrain_list_credit_ledger",
        json!({"limit": 10}),
        "credits_ledger.json",
    );
    let contracts = j.ok(
        "opentrain_list_contracts",
        json!({"status": "active"}),
        "contracts_list.json",
    );
    let contract = contracts["contracts"][0]["id"].as_str().unwrap().to_owned();
    let full = j.ok(
        "opentrain_get_contract",
        json!({"contractId": contract}),
        "contracts_get.json",
    );
    let first = full["contract"]["milestones"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = j.ok(
        "opentrain_create_milestone",
        json!({"contractId": contract, "name": "Second batch", "description": "The next 2,500 posts", "amountUsd": 150, "dueDate": "2026-07-15"}),
        "contracts_create_milestone_201.json",
    );
    let second = second["milestone"]["id"].as_str().unwrap().to_owned();
    let fund = j.ok(
        "opentrain_request_milestone_funding",
        json!({"milestoneId": second}),
        "milestones_fund_202.json",
    );
    j.ok(
        "opentrain_list_pending_payments",
        json!({}),
        "payments_pending.json",
    );
    submit(
        fund["approval"]["approvalUrl"].as_str().unwrap(),
        &[("action", "confirm"), ("source", "credits")],
    );
    let funded = j.ok(
        "opentrain_get_approval",
        json!({"approvalId": fund["approval"]["id"]}),
        "approvals_get.json",
    );
    assert_eq!(funded["approval"]["status"], "confirmed");
    let release = j.ok(
        "opentrain_request_milestone_approval",
        json!({"milestoneId": first}),
        "milestones_approve_202.json",
    );
    submit(
        release["approval"]["approvalUrl"].as_str().unwrap(),
        &[("action", "confirm")],
    );

    // Webhooks, updates, tokens, team.
    let hook = j.ok(
        "opentrain_create_webhook",
        json!({"url": "https://127.0.0.1:9/hooks/opentrain", "eventTypes": ["proposal.received", "approval.confirmed"]}),
        "webhooks_created.json",
    );
    let hook_id = hook["webhook"]["id"].as_str().unwrap().to_owned();
    j.ok("opentrain_list_webhooks", json!({}), "webhooks_list.json");
    j.ok(
        "opentrain_get_webhook",
        json!({"webhookId": hook_id}),
        "webhooks_get.json",
    );
    j.ok(
        "opentrain_delete_webhook",
        json!({"webhookId": hook_id}),
        "webhooks_deleted.json",
    );
    let updates = j.ok("opentrain_poll_updates", json!({"limit": 200}), "");
    let mut doc = load("updates_poll.json");
    doc["events"][0]["data"] = Value::Null; // each type has its own data keys, checked below
    conforms(&updates, &doc, "opentrain_poll_updates");
    let events = updates["events"].as_array().unwrap();
    assert!(events.len() >= 10);
    for e in events {
        let keys: &[&str] = match e["type"].as_str().unwrap() {
            "proposal.received" => &["proposalId", "jobId"],
            "proposal.status_changed" => &["proposalId", "status"],
            "message.received" => &["conversationId", "messageId"],
            "contract.created" => &["contractId", "jobId", "proposalId"],
            "milestone.status_changed" => &["milestoneId", "contractId", "status"],
            "payment.pending" => &["invoiceId", "milestoneId", "contractId"],
            "approval.confirmed" => &["approvalId", "status"],
            other => panic!("undocumented event type {other}"),
        };
        let mut got: Vec<&str> = e["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = keys.to_vec();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{e}");
    }
    // A token minted over HTTP (no tool does that), then revoked with the tool.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(f.sandbox.join("cli.json")).unwrap())
            .unwrap();
    let api_token = saved["apiToken"].as_str().unwrap().to_owned();
    let base = saved["baseUrl"].as_str().unwrap().to_owned();
    let minted = mint(&base, &api_token);
    let tokens = j.ok("opentrain_list_tokens", json!({}), "tokens_list.json");
    assert!(
        tokens["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["status"] == "revoked"),
        "the pre-claim token was revoked"
    );
    let revoked = j.ok(
        "opentrain_revoke_token",
        json!({"tokenId": minted}),
        "tokens_revoked.json",
    );
    assert_eq!(revoked["token"]["status"], "revoked");
    j.ok("opentrain_get_team", json!({}), "team_get.json");
    j.ok(
        "opentrain_invite_team_member",
        json!({"email": "newhire@example.com"}),
        "team_invite.json",
    );

    // The job and the contract come to an end.
    j.ok(
        "opentrain_update_published_job",
        json!({"jobId": job, "patch": {"headcount": 8}}),
        "jobs_update.json",
    );
    j.ok(
        "opentrain_close_job",
        json!({"jobId": job}),
        "jobs_close.json",
    );
    let end = j.ok(
        "opentrain_end_contract",
        json!({"contractId": contract}),
        "contracts_end_202.json",
    );
    submit(
        end["approval"]["approvalUrl"].as_str().unwrap(),
        &[("action", "confirm")],
    );
    let ended = j.ok(
        "opentrain_get_contract",
        json!({"contractId": contract}),
        "contracts_get.json",
    );
    assert_eq!(ended["contract"]["status"], "ended");

    // Every tool was called.
    let tools = j.server.request("tools/list", json!({}));
    let all: BTreeSet<String> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all.len(), 41);
    let missed: Vec<&String> = all.difference(&j.seen.tools).collect();
    assert!(missed.is_empty(), "tools not called: {missed:?}");

    // The agent can never mistake it for reality: every text says sandbox, every URL is local.
    for text in &j.seen.texts {
        let body = text.split_once(": ").unwrap().1;
        assert!(body.starts_with("[SANDBOX"), "{text}");
        for (i, _) in body.match_indices("http") {
            let rest = &body[i..];
            if rest.starts_with("http://") || rest.starts_with("https://") {
                assert!(
                    rest.starts_with("http://127.0.0.1:") || rest.starts_with("https://127.0.0.1:"),
                    "a non-local URL in {text}"
                );
            }
        }
    }
    let mut strings = Vec::new();
    for v in &j.seen.structured {
        strings_in(v, &mut strings);
    }
    for s in strings.iter().filter(|s| s.contains("://")) {
        assert!(
            s.starts_with("http://127.0.0.1:") || s.starts_with("https://127.0.0.1:"),
            "a non-local URL in an answer: {s}"
        );
    }
    drop(j);

    // Nothing went through a proxy; the real credentials were not touched nor used.
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a connection went to the proxy"
    );
    let after = (
        std::fs::read(&f.cli_json).unwrap(),
        std::fs::metadata(&f.cli_json).unwrap().modified().unwrap(),
    );
    assert_eq!(before, after, "the real cli.json changed");
    assert!(
        !f.home.join(".config").exists(),
        "something wrote under HOME/.config"
    );
    let sandbox_file = std::fs::read_to_string(f.sandbox.join("cli.json")).unwrap();
    assert!(!sandbox_file.contains(SENTINEL_TOKEN));
    let db = std::fs::read(f.sandbox.join("sandbox.db")).unwrap();
    assert!(
        !db.windows(SENTINEL_TOKEN.len())
            .any(|w| w == SENTINEL_TOKEN.as_bytes())
    );
}

/// `POST /tokens` over plain HTTP with the sandbox's token; returns the new token's id.
fn mint(base: &str, token: &str) -> String {
    let rest = base.strip_prefix("http://127.0.0.1:").unwrap();
    let body = json!({"name": "E2E", "scopes": ["jobs:read"]}).to_string();
    let mut stream = TcpStream::connect(format!("127.0.0.1:{rest}")).unwrap();
    write!(
        stream,
        "POST /api/public/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:{rest}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let json_part = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let v: Value = serde_json::from_str(json_part).unwrap();
    v["metadata"]["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_journey_through_all_41_tools_stays_on_loopback_and_off_the_real_credentials() {
    journey();
}

/// Runs the journey again inside a network namespace with only `lo` (no route anywhere else).
#[test]
fn the_journey_works_in_a_network_namespace_with_only_loopback() {
    let usable = Command::new("unshare")
        .args(["-rn", "sh", "-c", "ip link set lo up"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !usable {
        eprintln!(
            "SKIP: `unshare -rn` with `ip link set lo up` is not available here (no user \
             namespaces or no iproute2); the proxy-trap journey still ran"
        );
        return;
    }
    let me = std::env::current_exe().unwrap();
    let output = Command::new("unshare")
        .args(["-rn", "sh", "-c", "ip link set lo up && exec \"$0\" --exact --ignored --nocapture journey_inside_the_namespace"])
        .arg(&me)
        .env(INNER, "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && out.contains("1 passed"),
        "the journey failed inside the namespace:\n{out}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // And the demo, too.
    let demo = Command::new("unshare")
        .args(["-rn", "sh", "-c", "ip link set lo up && exec \"$0\" demo"])
        .arg(BIN)
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert!(String::from_utf8_lossy(&demo.stdout).contains("Where the money went"));
}

#[test]
#[ignore = "run by the_journey_works_in_a_network_namespace_with_only_loopback"]
fn journey_inside_the_namespace() {
    assert_eq!(
        std::env::var(INNER).as_deref(),
        Ok("1"),
        "run only inside the namespace"
    );
    journey();
}

#[test]
fn doctor_says_sandbox_and_demo_runs_green() {
    let f = files();
    let dir = f.sandbox.display().to_string();
    let doctor = Command::new(BIN)
        .args(["doctor", "--sandbox-dir", &dir])
        .env_clear()
        .env("HOME", &f.home)
        .env("OPENTRAIN_PERSONAL_API_TOKEN", SENTINEL_TOKEN)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(doctor.status.success(), "{text}");
    assert!(text.contains("SANDBOX"), "{text}");
    assert!(!text.contains(&SENTINEL_TOKEN[..12]), "{text}");
    let demo = Command::new(BIN)
        .arg("demo")
        .env_clear()
        .env("HOME", &f.home)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    for step in [
        "[ 1/15]",
        "[15/15] Where the money went",
        "paid out to the trainer",
        "Done in",
    ] {
        assert!(out.contains(step), "{step} missing:\n{out}");
    }
    // `sandbox reset` starts over.
    let reset = Command::new(BIN)
        .args(["sandbox", "reset", "--sandbox-dir", &dir, "--seed", "9"])
        .output()
        .unwrap();
    assert!(reset.status.success());
    assert!(String::from_utf8_lossy(&reset.stdout).contains("seed 9"));
}

#[test]
fn sandbox_serve_answers_other_clients_on_the_given_port() {
    let f = files();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args([
            "sandbox",
            "serve",
            "--port",
            &port.to_string(),
            "--sandbox-dir",
            &f.sandbox.display().to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    reader.read_line(&mut first).unwrap();
    assert!(
        first.contains(&format!("http://127.0.0.1:{port}")),
        "{first}"
    );
    let (status, response) = http(
        "GET",
        &format!("http://127.0.0.1:{port}/api/public/v1/jobs/facets"),
        &[],
    );
    let _ = child.kill();
    let _ = child.wait();
    drop(reader);
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("totalJobs"));
}

#[test]
fn two_sandbox_processes_share_one_directory_without_corrupting_it() {
    let f = files();
    let dir = f.sandbox.display().to_string();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let mut child = Command::new(BIN)
            .args(["sandbox", "serve", "--sandbox-dir", &dir])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap()
            .to_owned();
        servers.push((child, reader, url));
    }
    let urls: Vec<String> = servers.iter().map(|(_, _, u)| u.clone()).collect();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let urls = urls.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let url = &urls[(t + i) % 2];
                    let (status, response) =
                        http("POST", &format!("{url}/api/agent/identity"), &[]);
                    assert_eq!(status, 200, "{response}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for (mut child, reader, _) in servers {
        let _ = child.kill();
        let _ = child.wait();
        drop(reader);
    }
    let conn = rusqlite::Connection::open(f.sandbox.join("sandbox.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let accounts: i64 = conn
        .query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        accounts, 81,
        "80 registrations through two processes, plus the marketplace"
    );
}
