//! `opentrain-mcp demo`: a scripted agent session over MCP against the sandbox. It runs this
//! very binary as a child in `--sandbox` mode with a fresh sandbox directory, speaks JSON-RPC to
//! it over stdio exactly as an MCP client does, and plays the human through the sandbox's local
//! pages (claim, billing, approvals, checkout). No account, no network; a few seconds.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The child server, as an MCP client sees it.
struct Agent {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

/// One tool result: error flag, text (without the sandbox line), structured content.
struct Seen {
    error: bool,
    text: String,
    data: Value,
}

impl Agent {
    async fn start(dir: &std::path::Path) -> Result<Agent, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let mut child = tokio::process::Command::new(exe)
            .arg("--sandbox")
            .arg("--sandbox-dir")
            .arg(dir)
            // The demo reads each answer's data as structuredContent and shows the summaries.
            .args(["--result-format", "structured"])
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut agent = Agent {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            next_id: 1,
        };
        agent
            .request(
                "initialize",
                json!({"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "opentrain-mcp-demo", "version": env!("CARGO_PKG_VERSION")}}),
            )
            .await?;
        agent
            .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(agent)
    }

    async fn send(&mut self, message: Value) -> Result<(), String> {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("the server closed its input: {e}"))
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        loop {
            let line = tokio::time::timeout(STEP_TIMEOUT, self.lines.next_line())
                .await
                .map_err(|_| format!("no answer to {method} within {STEP_TIMEOUT:?}"))?
                .map_err(|e| format!("reading the server: {e}"))?
                .ok_or("the server exited")?;
            let message: Value = serde_json::from_str(&line)
                .map_err(|e| format!("the server wrote a non-JSON line: {e}"))?;
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method} failed: {error}"));
                }
                return Ok(message["result"].clone());
            }
        }
    }

    async fn call(&mut self, tool: &str, arguments: Value) -> Result<Seen, String> {
        let result = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await?;
        let text = result["content"]
            .as_array()
            .and_then(|c| c.iter().find_map(|b| b["text"].as_str()))
            .unwrap_or("")
            .to_owned();
        let text = match text.split_once('\n') {
            Some((first, rest)) if first.contains("SANDBOX") => rest.to_owned(),
            _ => text,
        };
        Ok(Seen {
            error: result["isError"] == true,
            text,
            data: result["structuredContent"].clone(),
        })
    }

    /// A call that must succeed.
    async fn ok(&mut self, tool: &str, arguments: Value) -> Result<Seen, String> {
        let seen = self.call(tool, arguments).await?;
        if seen.error {
            return Err(format!("{tool} failed:\n{}", seen.text));
        }
        Ok(seen)
    }
}

/// The human, on the sandbox's pages.
struct Human {
    http: reqwest::Client,
}

impl Human {
    fn new() -> Result<Human, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(STEP_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot start an HTTP client: {e}"))?;
        Ok(Human { http })
    }

    async fn open(&self, url: &str) -> Result<String, String> {
        let url = loopback(url)?;
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        response.text().await.map_err(|e| e.to_string())
    }

    /// Submits the page's form: a POST of `fields` to the page's own URL.
    async fn submit(&self, url: &str, fields: &[(&str, &str)]) -> Result<(), String> {
        let url = loopback(url)?;
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let response = self
            .http
            .post(url.clone())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().as_u16() != 303 {
            return Err(format!(
                "the page {url} refused the form (HTTP {})",
                response.status().as_u16()
            ));
        }
        Ok(())
    }
}

/// Every link the demo opens must be on this machine.
fn loopback(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if parsed.host_str() != Some("127.0.0.1") {
        return Err(format!("{url} is not on 127.0.0.1"));
    }
    Ok(parsed)
}

fn s<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the answer has no {pointer}"))
}

struct Printer<'a> {
    out: &'a mut dyn Write,
    step: usize,
    total: usize,
}

impl Printer<'_> {
    fn step(&mut self, what: &str) {
        self.step += 1;
        let _ = writeln!(self.out, "\n[{:>2}/{}] {what}", self.step, self.total);
        let _ = self.out.flush();
    }

    /// What the agent saw: the first lines of the tool's text, indented.
    fn saw(&mut self, seen: &Seen, lines: usize) {
        for line in seen
            .text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(lines)
        {
            for (i, part) in wrap(line, 96).into_iter().enumerate() {
                let lead = if i == 0 { "" } else { "  " };
                let _ = writeln!(self.out, "        │ {lead}{part}");
            }
        }
    }

    fn note(&mut self, text: &str) {
        let _ = writeln!(self.out, "        → {text}");
        let _ = self.out.flush();
    }
}

/// Splits `line` at spaces into pieces of at most `width` characters (a longer word stays whole).
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out
}

fn money(usd: f64) -> String {
    format!("${usd:.2}")
}

/// Runs the demo, printing to `out`. The sandbox directory is temporary and removed at the end.
pub async fn run(out: &mut dyn Write) -> Result<(), String> {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "opentrain-mcp-demo-{}-{}",
        std::process::id(),
        crate::sandbox::clock::wall_ms()
    ));
    let started = std::time::Instant::now();
    let _ = writeln!(
        out,
        "opentrain-mcp demo: an AI agent hires a data labeler through the OpenTrain sandbox.\n\
         Everything is simulated on this machine (127.0.0.1): no account, no network, no money."
    );
    let result = script(out, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(()) => {
            let _ = writeln!(
                out,
                "\nDone in {:.1} s. Try it with your own agent:\n    claude mcp add opentrain-sandbox -- opentrain-mcp --sandbox",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(e) => Err(format!("the demo stopped: {e}")),
    }
}

async fn script(out: &mut dyn Write, dir: &std::path::Path) -> Result<(), String> {
    let mut p = Printer {
        out,
        step: 0,
        total: 15,
    };
    let human = Human::new()?;
    let mut agent = Agent::start(dir).await?;

    p.step("The agent registers an account (no credentials needed)");
    let seen = agent
        .ok(
            "opentrain_register_agent",
            json!({"agentName": "Demo agent", "organizationName": "Acme Research"}),
        )
        .await?;
    p.saw(&seen, 3);

    p.step("The agent starts the claim; the human accepts it on the local page");
    let seen = agent
        .ok(
            "opentrain_claim_account",
            json!({"email": "owner@example.com"}),
        )
        .await?;
    p.saw(&seen, 3);
    let link = s(&seen.data, "/verification_uri")?.to_owned();
    let code = s(&seen.data, "/user_code")?.to_owned();
    let page = human.open(&link).await?;
    if !page.contains(&code) {
        return Err("the claim page does not show the code".into());
    }
    human
        .submit(&link, &[("action", "accept"), ("user_code", &code)])
        .await?;
    p.note(&format!(
        "human: opened {link}, saw code {code}, pressed \"Accept the claim\""
    ));
    let seen = agent.ok("opentrain_claim_status", json!({})).await?;
    p.saw(&seen, 3);

    p.step("The agent drafts a job from plain text");
    let brief = "We need 5 fluent Spanish speakers to label sentiment in ~20,000 social media \
                 posts. Pay per label. Annotators should have prior text-classification experience.";
    let seen = agent
        .ok(
            "opentrain_create_job_draft",
            json!({"jobDescription": brief}),
        )
        .await?;
    p.saw(&seen, 8);
    let job_id = s(&seen.data, "/jobId")?.to_owned();
    let questions: Vec<String> = seen.data["missingFields"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();

    p.step("The agent asks the human its ask: questions and fills in the answers");
    let mut patch = serde_json::Map::new();
    for field in &questions {
        let answer = match field.as_str() {
            "experienceLevel" => json!("INTERMEDIATE"),
            "pricePerLabel" => json!(0.06),
            "pricePerHour" => json!(18),
            "fixedPrice" => json!(500),
            "dataVolumeUnit" => json!("NUMBER_OF_FILES"),
            "headcount" => json!(5),
            "paymentType" => json!("PAY_PER_LABEL"),
            other => json!(format!("({other})")),
        };
        p.note(&format!("human answers {field}: {answer}"));
        patch.insert(field.clone(), answer);
    }
    let seen = agent
        .ok(
            "opentrain_update_job_draft_fields",
            json!({"jobId": job_id, "patch": patch}),
        )
        .await?;
    p.saw(&seen, 3);

    p.step("The agent publishes the job");
    let seen = agent
        .ok("opentrain_publish_job", json!({"jobId": job_id}))
        .await?;
    p.saw(&seen, 3);

    p.step("The agent waits for proposals");
    let mut proposals = Vec::new();
    for _ in 0..8 {
        let seen = agent
            .ok("opentrain_list_proposals", json!({"jobId": job_id}))
            .await?;
        proposals = seen.data["proposals"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if proposals.len() >= 3 {
            p.saw(&seen, 6);
            break;
        }
        p.note(&format!("{} proposal(s) so far…", proposals.len()));
    }
    let best = proposals
        .iter()
        .max_by(|a, b| {
            let score = |p: &Value| p["metrics"]["interviewScore"].as_f64().unwrap_or(-1.0);
            score(a).total_cmp(&score(b))
        })
        .ok_or("no proposal arrived")?;
    let proposal_id = s(best, "/id")?.to_owned();

    p.step("The agent reads the best proposal with its AI interview");
    let seen = agent
        .ok(
            "opentrain_get_proposal",
            json!({"proposalId": proposal_id, "includeInterview": true}),
        )
        .await?;
    p.saw(&seen, 10);

    p.step("The agent messages the trainer, who answers");
    let seen = agent
        .ok(
            "opentrain_start_proposal_conversation",
            json!({"proposalId": proposal_id}),
        )
        .await?;
    let conversation = s(&seen.data, "/conversationId")?.to_owned();
    agent
        .ok(
            "opentrain_send_message",
            json!({"conversationId": conversation, "content": "Hi! Your interview looked great. Could you start with a first batch of 5,000 posts next week?"}),
        )
        .await?;
    let seen = agent
        .ok(
            "opentrain_read_messages",
            json!({"conversationId": conversation}),
        )
        .await?;
    p.saw(&seen, 6);

    p.step("The agent requests the hire; the human adds a card and confirms on the page");
    let hire = json!({"proposalId": proposal_id, "milestone": {"name": "First labeling batch",
        "description": "Label the first 5,000 posts per the guidelines", "amount": 300, "dueDate": "2026-07-01"}});
    let seen = agent.call("opentrain_hire_proposal", hire.clone()).await?;
    p.saw(&seen, 3);
    if seen.error {
        let billing = s(&seen.data, "/error/details/billingUrl")?.to_owned();
        human.open(&billing).await?;
        human
            .submit(
                &billing,
                &[
                    ("action", "add_card"),
                    ("card_number", "4242 4242 4242 4242"),
                ],
            )
            .await?;
        p.note(&format!("human: added a card at {billing}"));
    }
    let seen = agent.ok("opentrain_hire_proposal", hire).await?;
    p.saw(&seen, 3);
    let approval = s(&seen.data, "/approval/approvalUrl")?.to_owned();
    let approval_id = s(&seen.data, "/approval/id")?.to_owned();
    human.open(&approval).await?;
    human
        .submit(&approval, &[("action", "confirm"), ("source", "card")])
        .await?;
    p.note(&format!(
        "human: confirmed the hire at {approval} (paid by card: $300 + 10% + $9.95)"
    ));
    let seen = agent
        .ok("opentrain_get_approval", json!({"approvalId": approval_id}))
        .await?;
    p.saw(&seen, 3);
    let contract_id = s(&seen.data, "/approval/result/contractId")?.to_owned();

    p.step("The agent reads the contract and adds a second milestone; the human funds it");
    let seen = agent
        .ok("opentrain_get_contract", json!({"contractId": contract_id}))
        .await?;
    p.saw(&seen, 5);
    let first_milestone = s(&seen.data, "/contract/milestones/0/id")?.to_owned();
    let seen = agent
        .ok(
            "opentrain_create_milestone",
            json!({"contractId": contract_id, "name": "Second labeling batch", "description": "Label the next 2,500 posts", "amountUsd": 150}),
        )
        .await?;
    p.saw(&seen, 2);
    let second_milestone = s(&seen.data, "/milestone/id")?.to_owned();
    let seen = agent
        .ok(
            "opentrain_request_milestone_funding",
            json!({"milestoneId": second_milestone}),
        )
        .await?;
    p.saw(&seen, 2);
    let fund = s(&seen.data, "/approval/approvalUrl")?.to_owned();
    human
        .submit(&fund, &[("action", "confirm"), ("source", "card")])
        .await?;
    p.note("human: confirmed the funding ($150 + 10% into escrow)");

    p.step("The first batch is delivered: the agent asks to release it, the human approves");
    let seen = agent
        .ok(
            "opentrain_request_milestone_approval",
            json!({"milestoneId": first_milestone}),
        )
        .await?;
    p.saw(&seen, 2);
    let release = s(&seen.data, "/approval/approvalUrl")?.to_owned();
    human.submit(&release, &[("action", "confirm")]).await?;
    p.note("human: confirmed the release ($300 paid out to the trainer)");

    p.step("The agent tops up credits; the human pays at the checkout page");
    let seen = agent
        .ok("opentrain_create_credit_top_up", json!({"amountUsd": 200}))
        .await?;
    p.saw(&seen, 2);
    let checkout = s(&seen.data, "/checkoutUrl")?.to_owned();
    let top_up = s(&seen.data, "/topUpId")?.to_owned();
    human.submit(&checkout, &[("action", "pay")]).await?;
    p.note("human: paid $200 at the (simulated) checkout");
    let seen = agent
        .ok("opentrain_get_credit_top_up", json!({"topUpId": top_up}))
        .await?;
    p.saw(&seen, 1);

    p.step("The agent polls its updates");
    let seen = agent.ok("opentrain_poll_updates", json!({})).await?;
    p.saw(&seen, 12);

    p.step("The agent ends the contract; the human confirms (the unreleased escrow is refunded)");
    let seen = agent
        .ok("opentrain_end_contract", json!({"contractId": contract_id}))
        .await?;
    p.saw(&seen, 2);
    if let Some(url) = seen
        .data
        .pointer("/approval/approvalUrl")
        .and_then(Value::as_str)
    {
        human.submit(url, &[("action", "confirm")]).await?;
        p.note("human: confirmed ending the contract");
    }
    let seen = agent
        .ok("opentrain_get_contract", json!({"contractId": contract_id}))
        .await?;
    p.saw(&seen, 2);

    p.step("Where the money went");
    let credits = agent.ok("opentrain_get_credits", json!({})).await?;
    let available = credits.data["credits"]["availableCents"]
        .as_i64()
        .unwrap_or(0) as f64
        / 100.0;
    let paid: f64 = seen.data["contract"]["milestones"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["status"] == "PAID")
                .filter_map(|m| m["amountUsd"].as_f64())
                .sum()
        })
        .unwrap_or(0.0);
    let (first, second) = (300.0, 150.0);
    let hire_charge = first * 1.1 + 9.95;
    let fund_charge = second * 1.1;
    for line in [
        format!(
            "card charged for the hire:        {} (milestone {} + 10% fee + $9.95 contract fee)",
            money(hire_charge),
            money(first)
        ),
        format!(
            "card charged for milestone 2:     {} (milestone {} + 10% fee), into escrow",
            money(fund_charge),
            money(second)
        ),
        format!(
            "paid out to the trainer:          {} (the released milestone)",
            money(paid)
        ),
        format!(
            "kept by the marketplace in fees:  {}",
            money(hire_charge - first)
        ),
        format!(
            "refunded when the contract ended: {} (milestone 2's escrow, never released)",
            money(fund_charge)
        ),
        format!(
            "credit balance:                   {} (the top-up, unspent)",
            money(available)
        ),
    ] {
        p.note(&line);
    }
    let _ = agent.child.start_kill();
    Ok(())
}
