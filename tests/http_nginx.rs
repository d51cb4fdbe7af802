//! Three instances of the real binary in remote mode (`--http 127.0.0.1:0`) behind a real nginx
//! running deploy/compose/nginx.conf (round-robin, no affinity), an OpenTrain API stub on
//! loopback recording every request's `Authorization`, and two MCP clients with different tokens
//! driven concurrently through nginx: an rmcp client and the official Python SDK's Streamable
//! HTTP client. Every API request must carry its own caller's token, every call must get exactly
//! one answer (its own), and when one instance is killed (SIGKILL) mid-run the calls keep
//! succeeding: nginx sends them to the other two.
//!
//! nginx comes from Debian's package and the Python SDK from PyPI (.ci/deploy-tools.sh); without
//! nginx the test prints SKIP, without the SDK a second rmcp client takes its place (and says so).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::remote::{Instance, Nginx, deploy_venv, read, repo, tool};
use common::{PAT, PAT2};
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::{CallToolRequestParams, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt};
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Calls per client, and how many each keeps in flight.
const CALLS: usize = 150;
const CONCURRENCY: usize = 8;
/// The API stub's answer time: calls are still in flight on an instance when it is killed.
const API_DELAY: Duration = Duration::from_millis(40);

/// The stub's answer to GET /api/public/v1/contracts/{id}: the documented one, for that id.
struct Contract;

impl Respond for Contract {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().rsplit('/').next().unwrap_or_default();
        let body = read("fixtures/contracts_get.json").replace("<CONTRACT_ID>", id);
        ResponseTemplate::new(200)
            .set_delay(API_DELAY)
            .set_body_raw(body, "application/json")
    }
}

/// The stub's answer to POST /api/public/v1/jobs/{id}/close, slow enough for the instance holding
/// the call to be killed while it waits.
struct CloseJob;

impl Respond for CloseJob {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().trim_end_matches("/close");
        let id = path.rsplit('/').next().unwrap_or_default();
        let body = read("fixtures/jobs_close.json").replace("<JOB_ID>", id);
        ResponseTemplate::new(200)
            .set_delay(WRITE_DELAY)
            .set_body_raw(body, "application/json")
    }
}

const WRITE_DELAY: Duration = Duration::from_secs(3);

/// One client's connection through nginx, marked with `X-Test-Client` for the access log.
async fn rmcp_client(
    url: &str,
    token: &str,
    mark: &'static str,
    lifecycle: ClientLifecycleMode,
) -> RunningService<RoleClient, ()> {
    let headers = HashMap::from([(
        HeaderName::from_static("x-test-client"),
        HeaderValue::from_static(mark),
    )]);
    let config = StreamableHttpClientTransportConfig::with_uri(url)
        .auth_header(token)
        .custom_headers(headers);
    let transport = StreamableHttpClientTransport::from_config(config);
    match lifecycle {
        ClientLifecycleMode::Initialize => ().serve(transport).await.expect("initialize"),
        other => ().serve_with_lifecycle(transport, other).await.expect("discover"),
    }
}

/// The answer text of one call, or why there is none.
async fn get_contract(client: &RunningService<RoleClient, ()>, id: &str) -> Result<String, String> {
    let args = json!({"contractId": id}).as_object().unwrap().clone();
    let params = CallToolRequestParams::new("opentrain_get_contract").with_arguments(args);
    let result = client.call_tool(params).await.map_err(|e| e.to_string())?;
    let text: String = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    if result.is_error == Some(true) {
        Err(format!("isError: {text}"))
    } else {
        Ok(text)
    }
}

/// One finished call: its id, the answer (or the error), and whether it finished after the kill.
#[derive(Debug, Clone)]
struct Answer {
    call: String,
    result: Result<String, String>,
    after_kill: bool,
}

/// `CALLS` calls with ids `{prefix}-N`, `CONCURRENCY` at a time, over one rmcp client.
async fn rmcp_run(
    client: Arc<RunningService<RoleClient, ()>>,
    prefix: &'static str,
    killed: Arc<AtomicUsize>,
    done: Arc<AtomicUsize>,
) -> Vec<Answer> {
    let next = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, next, answers, killed, done) = (
            client.clone(),
            next.clone(),
            answers.clone(),
            killed.clone(),
            done.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= CALLS {
                    break;
                }
                let call = format!("{prefix}-{n}");
                let result = get_contract(&client, &call).await;
                let after_kill = killed.load(Ordering::SeqCst) > 0;
                answers.lock().unwrap().push(Answer {
                    call,
                    result,
                    after_kill,
                });
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    Arc::try_unwrap(answers).unwrap().into_inner().unwrap()
}

/// The Python SDK's client (tests/http_nginx_client.py) as a child process: its answers, read
/// as it prints them.
fn python_run(
    python: &std::path::Path,
    url: &str,
    token: &str,
    killed: Arc<AtomicUsize>,
    done: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<(Vec<Answer>, Vec<Value>, String)> {
    let mut child = Command::new(python)
        .arg(repo("tests/http_nginx_client.py"))
        .args([url, &CALLS.to_string(), &CONCURRENCY.to_string(), "auto"])
        .env("OPENTRAIN_TEST_TOKEN", token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    std::thread::spawn(move || {
        let mut answers = Vec::new();
        let mut other = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|_| json!({"unparsed": line}));
            if let Some(call) = v["call"].as_str() {
                let result = if v["ok"] == json!(true) {
                    Ok(v["text"].as_str().unwrap_or_default().to_string())
                } else {
                    Err(format!("{} {}", v["error"], v["text"]))
                };
                answers.push(Answer {
                    call: call.to_string(),
                    result,
                    after_kill: killed.load(Ordering::SeqCst) > 0,
                });
                done.fetch_add(1, Ordering::SeqCst);
            } else {
                other.push(v);
            }
        }
        let status = child.wait().unwrap();
        let stderr = err.join().unwrap();
        assert!(
            status.success(),
            "the Python client failed: {status}\n{stderr}"
        );
        (answers, other, stderr)
    })
}

/// Every call `{prefix}-0..CALLS` answered exactly once, successfully, with its own contract.
fn check_answers(who: &str, prefix: &str, answers: &[Answer]) {
    let mut seen = BTreeMap::new();
    for a in answers {
        *seen.entry(a.call.clone()).or_insert(0) += 1;
        let text = a
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{who}: call {} failed: {e}", a.call));
        assert!(
            text.contains(&format!("Contract {}", a.call)),
            "{who}: call {} got another call's answer: {text:.300}",
            a.call
        );
    }
    let expected: BTreeSet<String> = (0..CALLS).map(|n| format!("{prefix}-{n}")).collect();
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "{who}: every call answered"
    );
    assert!(
        seen.values().all(|&n| n == 1),
        "{who}: exactly one answer per call: {:?}",
        seen.iter().filter(|(_, n)| **n != 1).collect::<Vec<_>>()
    );
    let after = answers.iter().filter(|a| a.after_kill).count();
    assert!(
        after >= 10,
        "{who}: only {after} calls finished after the kill; the kill came too late to show anything"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_behind_nginx_keep_each_callers_token_and_survive_a_kill() {
    let Some(nginx_bin) = tool("nginx") else {
        println!("SKIP: nginx is not installed (.ci/deploy-tools.sh installs Debian's nginx)");
        return;
    };
    let python = deploy_venv().map(|v| v.join("bin/python")).filter(|p| {
        Command::new(p)
            .args(["-c", "import mcp.client.streamable_http"])
            .status()
            .is_ok_and(|s| s.success())
    });
    if python.is_none() {
        println!(
            "SKIP: the Python MCP SDK is not installed (.ci/deploy-tools.sh: pip install mcp); \
             a second rmcp client plays the second caller"
        );
    }

    // reqwest (the rmcp client's HTTP) is built without a TLS provider of its own; the server's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/public/v1/contracts/[^/]+$"))
        .respond_with(Contract)
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/public/v1/jobs/[^/]+/close$"))
        .respond_with(CloseJob)
        .mount(&api)
        .await;
    let base = api.uri();
    let envs = [("OPENTRAIN_API_BASE_URL", base.as_str())];
    let mut instances: Vec<Instance> = (0..3).map(|_| Instance::start(&[], &envs)).collect();
    let addrs: Vec<_> = instances.iter().map(|i| i.addr).collect();
    let nginx = Nginx::start(&nginx_bin, &addrs);
    let url = nginx.url();

    // A client of 2025-11-25 (initialize, no session): its calls land on different instances.
    let legacy = rmcp_client(&url, PAT, "rmcp-legacy", ClientLifecycleMode::Initialize).await;
    for n in 0..6 {
        let id = format!("legacy-{n}");
        let text = get_contract(&legacy, &id).await.expect("legacy call");
        assert!(text.contains(&format!("Contract {id}")), "{text:.300}");
    }
    legacy.cancel().await.unwrap();

    // Two callers at once, each with its own token, through the same nginx.
    let modern = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let killed = Arc::new(AtomicUsize::new(0));
    let (alice_done, bob_done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    // The second caller first (the Python interpreter takes a moment to start), the first one as
    // soon as the second has its first answer.
    let (bob_run, bob_mark) = match &python {
        Some(python) => (
            Err(python_run(
                python,
                &url,
                PAT2,
                killed.clone(),
                bob_done.clone(),
            )),
            "python",
        ),
        None => {
            let bob = Arc::new(rmcp_client(&url, PAT2, "rmcp-2", modern.clone()).await);
            let run = rmcp_run(bob, "py", killed.clone(), bob_done.clone());
            (Ok(tokio::spawn(run)), "rmcp-2")
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while bob_done.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the second caller got no answer");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let alice = Arc::new(rmcp_client(&url, PAT, "rmcp", modern).await);
    let alice_run = tokio::spawn(rmcp_run(
        alice.clone(),
        "rs",
        killed.clone(),
        alice_done.clone(),
    ));

    // Mid-run, once each caller has a third of its calls answered: SIGKILL the second instance,
    // whatever it is doing.
    let deadline = Instant::now() + Duration::from_secs(120);
    while alice_done
        .load(Ordering::SeqCst)
        .min(bob_done.load(Ordering::SeqCst))
        < CALLS / 3
    {
        assert!(Instant::now() < deadline, "the clients made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let log_before_kill = nginx.access_log();
    let dead = instances[1].addr;
    instances[1].kill();
    killed.store(1, Ordering::SeqCst);
    let answered_at_kill = alice_done.load(Ordering::SeqCst) + bob_done.load(Ordering::SeqCst);

    let alice_answers = tokio::time::timeout(Duration::from_secs(120), alice_run)
        .await
        .expect("the rmcp client finished")
        .unwrap();
    let (bob_answers, bob_other, bob_stderr) = match bob_run {
        Ok(task) => (task.await.unwrap(), Vec::new(), String::new()),
        Err(thread) => tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap(),
    };
    if python.is_some() {
        let last = bob_other.last().cloned().unwrap_or_default();
        assert_eq!(
            last["done"],
            json!(CALLS),
            "python: {bob_other:?}\n{bob_stderr}"
        );
        println!("python client: protocol {}", last["version"]);
    }

    // Every call: exactly one answer, its own, successful, also after the kill.
    check_answers("rmcp", "rs", &alice_answers);
    check_answers(bob_mark, "py", &bob_answers);

    // Every API request carried its own caller's token, and only that.
    let requests = api.received_requests().await.unwrap();
    let mut per_call: BTreeMap<String, usize> = BTreeMap::new();
    for r in &requests {
        let id = r.url.path().rsplit('/').next().unwrap().to_string();
        let auth: Vec<_> = r.headers.get_all("authorization").iter().collect();
        let expected = if id.starts_with("py-") {
            format!("Bearer {PAT2}")
        } else {
            format!("Bearer {PAT}")
        };
        assert_eq!(auth.len(), 1, "{id}: one Authorization header");
        assert_eq!(
            auth[0].to_str().unwrap(),
            expected,
            "API request for {id} carried another caller's token"
        );
        *per_call.entry(id).or_insert(0) += 1;
    }
    for prefix in ["rs", "py"] {
        for n in 0..CALLS {
            let id = format!("{prefix}-{n}");
            assert!(
                per_call.contains_key(&id),
                "call {id} never reached the API"
            );
        }
    }

    // Round-robin without affinity: before the kill, each caller's calls reached all three.
    let calls_per_upstream = |log: &str, mark: &str| {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for line in log.lines() {
            let f: Vec<&str> = line.split('|').collect();
            if f.len() == 5 && f[2] == mark && f[3] == "tools/call" {
                *seen.entry(f[0].to_string()).or_insert(0) += 1;
            }
        }
        seen
    };
    for mark in ["rmcp", bob_mark] {
        let seen = calls_per_upstream(&log_before_kill, mark);
        for addr in &addrs {
            assert!(
                seen.keys().any(|u| u == &addr.to_string()),
                "{mark}'s calls never reached {addr} before the kill: {seen:?}"
            );
        }
    }
    let legacy_seen = calls_per_upstream(&log_before_kill, "rmcp-legacy");
    assert!(
        legacy_seen.is_empty(),
        "a 2025-11-25 client sends no Mcp-Method header"
    );
    let legacy_upstreams: BTreeSet<&str> = log_before_kill
        .lines()
        .filter(|l| l.split('|').nth(2) == Some("rmcp-legacy"))
        .map(|l| l.split('|').next().unwrap())
        .collect();
    assert!(
        legacy_upstreams.len() >= 2,
        "the legacy client's requests all went to one instance: {legacy_upstreams:?}"
    );

    // After the kill nginx found the dead instance and went on to another one, and no request
    // got an error from nginx.
    let log = nginx.access_log();
    let dead = dead.to_string();
    let failed_over: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with(&format!("{dead}, ")))
        .collect();
    assert!(
        !failed_over.is_empty(),
        "no request was sent on after the dead instance {dead}:\n{log}"
    );
    for line in log.lines() {
        let status = line.split('|').nth(1).unwrap_or_default();
        assert!(
            status == "200" || status == "202",
            "nginx answered {status}: {line}\nerror.log:\n{}",
            nginx.error_log()
        );
    }
    println!(
        "{} API requests for {} calls; {} answered when instance {dead} was killed; \
         {} requests sent on to another instance after it: {:?}",
        requests.len(),
        2 * CALLS + 6,
        answered_at_kill,
        failed_over.len(),
        failed_over.iter().take(5).collect::<Vec<_>>()
    );

    // A call that changes something is sent at most once: killed while the API works on it, it
    // fails (nginx's 502) and is not sent again to the instance still alive.
    let writes: Vec<String> = (0..4).map(|n| format!("w-{n}")).collect();
    let mut pending = Vec::new();
    for id in &writes {
        let (alice, id) = (alice.clone(), id.clone());
        pending.push(tokio::spawn(async move {
            let args = json!({"jobId": id}).as_object().unwrap().clone();
            let params = CallToolRequestParams::new("opentrain_close_job").with_arguments(args);
            let result = alice.call_tool(params).await;
            (id, result)
        }));
    }
    let closes = |requests: &[Request]| {
        requests
            .iter()
            .filter(|r| r.url.path().ends_with("/close"))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while closes(&api.received_requests().await.unwrap()) < writes.len() {
        assert!(
            Instant::now() < deadline,
            "the write calls did not reach the API"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second_dead = instances[2].addr;
    instances[2].kill();
    let (mut failed, mut succeeded) = (Vec::new(), Vec::new());
    for task in pending {
        let (id, result) = task.await.unwrap();
        match result {
            Ok(r) => {
                let text: String = r
                    .content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                    .collect();
                assert!(text.contains(&id), "{id}: {text:.300}");
                succeeded.push(id);
            }
            Err(e) => {
                assert!(e.to_string().contains("502"), "{id}: {e}");
                failed.push(id);
            }
        }
    }
    assert!(
        !failed.is_empty() && !succeeded.is_empty(),
        "the write calls on the killed instance {second_dead} must fail, not be sent again, and \
         the others succeed: failed {failed:?}, succeeded {succeeded:?}"
    );
    let requests = api.received_requests().await.unwrap();
    for id in &writes {
        let sent = requests
            .iter()
            .filter(|r| r.url.path() == format!("/api/public/v1/jobs/{id}/close"))
            .count();
        assert_eq!(sent, 1, "{id} reached the API {sent} times");
    }
    println!(
        "write calls killed with {second_dead}: {failed:?} (not resent); answered: {succeeded:?}"
    );

    // No token in any log.
    let mut logs = vec![nginx.access_log(), nginx.error_log()];
    logs.extend(instances.iter().map(Instance::stderr));
    for text in logs {
        for token in [PAT, PAT2] {
            assert!(!text.contains(token), "a token in a log:\n{text}");
        }
    }
    if let Ok(alice) = Arc::try_unwrap(alice) {
        let _ = alice.cancel().await;
    }
}
