//! The human's pages in a real browser: headless Chromium (Debian's chromium + chromium-driver,
//! which `.ci/run` installs) driven through chromedriver's WebDriver HTTP API. The human accepts
//! a claim (the page shows the code), adds a card, confirms a hire, pays a top-up, cancels
//! another and declines a funding request — each a click on a plain HTML form, no script.
//! Without Chromium the test prints SKIP and returns.

#[path = "common/sandbox.rs"]
mod sb;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sb::{JsonBody, Sb, json_of};
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        let path = std::path::Path::new(n);
        if path.is_absolute() {
            return path.exists().then(|| n.to_string());
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(n))
                .find(|p| p.exists())
                .map(|p| p.display().to_string())
        })
    })
}

struct Driver {
    child: Child,
    http: reqwest::Client,
    url: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group, which the browser it started joins: end
        // them all, or every run would leave a headless Chromium behind.
        // SAFETY: kill(2) on the process group of our own child.
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(chromium: &str, chromedriver: &str) -> Result<Driver, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start chromedriver: {e}"))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("http://127.0.0.1:{port}");
        let profile = tempfile::TempDir::new().map_err(|e| e.to_string())?;
        let mut driver = Driver {
            child,
            http,
            url,
            session: String::new(),
            _profile: profile,
        };
        for _ in 0..100 {
            if driver
                .http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", driver._profile.path().display()),
                ],
            },
        }}});
        let session = driver.call("POST", "/session", Some(caps)).await?;
        driver.session = session["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session: {session}"))?
            .to_owned();
        // A click on a submit button returns before the next page has loaded; element lookups
        // wait for it (up to 20 s on a loaded machine) instead of failing at once.
        let path = format!("/session/{}/timeouts", driver.session);
        driver
            .call(
                "POST",
                &path,
                Some(json!({"implicit": 20_000, "pageLoad": 60_000})),
            )
            .await?;
        Ok(driver)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.url);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json_body(&body.unwrap_or(json!({}))),
        };
        let response = req.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let v = json_of(response).await;
        if status >= 400 {
            return Err(format!("WebDriver {method} {path}: {status} {v}"));
        }
        Ok(v["value"].clone())
    }

    async fn s(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
            .await
            .unwrap()
    }

    async fn open(&self, url: &str) {
        self.s("POST", "/url", Some(json!({"url": url}))).await;
    }

    async fn element(&self, css: &str) -> String {
        let v = self
            .s(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    async fn text(&self, css: &str) -> String {
        let id = self.element(css).await;
        self.s("GET", &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Clicks a submit button and waits for the page its form loads: until the old page's
    /// root element is gone, so no later lookup can find an element of the old page.
    async fn click(&self, css: &str) {
        let old = self.element("html").await;
        let id = self.element(css).await;
        self.s("POST", &format!("/element/{id}/click"), Some(json!({})))
            .await;
        let path = format!("/session/{}/element/{old}/name", self.session);
        for _ in 0..600 {
            match self.call("GET", &path, None).await {
                Err(e) if e.contains("stale element") => return,
                Err(e) => panic!("after clicking {css}: {e}"),
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        panic!("clicking {css} loaded no new page within 30 s");
    }

    /// The page's source, which must never contain a script.
    async fn source(&self) -> String {
        let source = self
            .s("GET", "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            !source.to_lowercase().contains("<script"),
            "a page has a script:\n{source}"
        );
        source
    }

    async fn screenshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("SANDBOX_SCREENSHOTS") {
            let png = self.s("GET", "/screenshot", None).await;
            let bytes = decode_base64(png.as_str().unwrap());
            std::fs::write(
                std::path::Path::new(&dir).join(format!("{name}.png")),
                bytes,
            )
            .unwrap();
        }
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= (value(*c) as u32) << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[tokio::test]
async fn the_human_uses_the_pages_in_headless_chromium() {
    let (Some(chromium), Some(chromedriver)) = (
        find(&["chromium", "chromium-browser", "/usr/bin/chromium"]),
        find(&["chromedriver", "/usr/bin/chromedriver"]),
    ) else {
        eprintln!(
            "SKIP: headless Chromium is not installed (Debian packages chromium and \
             chromium-driver; .ci/run installs them); the pages' forms are still tested by \
             posting them in tests/sandbox.rs and tests/sandbox_e2e.rs"
        );
        return;
    };
    let s = Sb::new().await;
    let browser = match Driver::start(&chromium, &chromedriver).await {
        Ok(b) => b,
        Err(e) => panic!("Chromium is installed but could not be driven: {e}"),
    };

    // The claim: the page shows the code; the human accepts.
    let (_, claim) = s.register().await;
    let start = s
        .agent_json(
            "/identity/claim",
            json!({"claim_token": claim, "email": "dana.owner@example.com"}),
        )
        .await;
    let link = start.body["verification_uri"].as_str().unwrap().to_owned();
    let code = start.body["user_code"].as_str().unwrap().to_owned();
    browser.open(&link).await;
    browser.source().await;
    assert_eq!(browser.text("#user-code").await, code);
    browser.screenshot("claim").await;
    browser.click("button[value=accept]").await;
    assert_eq!(browser.text("h1").await, "Claim accepted");
    let token = s
        .agent_form(
            "/oauth/token",
            &[
                ("grant_type", "urn:opentrain:agent-auth:grant-type:claim"),
                ("claim_token", &claim),
            ],
        )
        .await;
    assert_eq!(token.status, 200, "{}", token.body);
    let token = token.body["access_token"].as_str().unwrap().to_owned();
    let me = s.get(&token, "/auth/me").await;
    assert_eq!(me.body["actor"]["fullName"], "Dana Owner");

    // A hire with no way to pay: the billing page adds a card.
    let job = s.published_job(&token).await;
    let proposal = s.proposals(&token, &job, 1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hire = json!({"milestone": {"name": "Batch 1", "amount": 120}});
    let refused = s
        .post(&token, &format!("/proposals/{proposal}/hire"), hire.clone())
        .await;
    let billing = refused.body["details"]["billingUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    browser.open(&billing).await;
    browser.source().await;
    browser.click("button[value=add_card]").await;
    assert!(browser.text("p.ok").await.contains("ending in 4242"));

    // The hire: the approval page shows the fees; the human confirms (card).
    let hired = s
        .post(&token, &format!("/proposals/{proposal}/hire"), hire)
        .await;
    assert_eq!(hired.status, 202);
    browser
        .open(hired.body["approval"]["approvalUrl"].as_str().unwrap())
        .await;
    let page = browser.source().await;
    assert!(page.contains("$141.95"), "120 + 12 + 9.95 is shown");
    browser.screenshot("approval").await;
    browser.click("button[value=confirm]").await;
    assert!(browser.text("p.ok").await.contains("confirmed"));
    let approval = s
        .get(
            &token,
            &format!(
                "/approvals/{}",
                hired.body["approval"]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(approval.body["approval"]["status"], "confirmed");
    let contract = approval.body["approval"]["result"]["contractId"]
        .as_str()
        .unwrap()
        .to_owned();

    // A top-up paid, another cancelled, on the checkout page.
    for (action, status) in [("pay", "COMPLETED"), ("cancel", "CANCELED")] {
        let top_up = s
            .post(&token, "/credits/top-ups", json!({"amountUsd": 25}))
            .await;
        browser
            .open(top_up.body["checkoutUrl"].as_str().unwrap())
            .await;
        browser.source().await;
        browser.click(&format!("button[value={action}]")).await;
        assert!(browser.text("p.ok").await.contains(status));
        let read = s
            .get(
                &token,
                &format!(
                    "/credits/top-ups/{}",
                    top_up.body["topUpId"].as_str().unwrap()
                ),
            )
            .await;
        assert_eq!(read.body["topUp"]["status"], status);
    }
    assert_eq!(
        s.get(&token, "/credits").await.body["credits"]["availableCents"],
        2500
    );

    // A funding request declined: nothing moves.
    let m = s
        .post(
            &token,
            &format!("/contracts/{contract}/milestones"),
            json!({"description": "Batch 2", "amountUsd": 10}),
        )
        .await;
    let fund = s
        .post_empty(
            &token,
            &format!(
                "/milestones/{}/fund",
                m.body["milestone"]["id"].as_str().unwrap()
            ),
        )
        .await;
    browser
        .open(fund.body["approval"]["approvalUrl"].as_str().unwrap())
        .await;
    browser.click("button[value=decline]").await;
    assert!(browser.text("p.ok").await.contains("declined"));
    let read = s
        .get(
            &token,
            &format!(
                "/approvals/{}",
                fund.body["approval"]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(read.body["approval"]["status"], "declined");
    assert_eq!(
        s.get(&token, "/credits").await.body["credits"]["availableCents"],
        2500
    );

    // The home page lists what waits, and the clock moves.
    browser.open(&format!("{}/", s.base())).await;
    browser.source().await;
    browser.screenshot("home").await;
    browser.click("form[action='/sandbox/clock'] button").await;
    assert_eq!(browser.text("h1").await, "What is waiting for you");
    let _ = browser.s("DELETE", "", None).await;
}
