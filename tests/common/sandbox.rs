//! The sandbox API as a test drives it over HTTP: a fresh world in a temp directory, an agent's
//! calls (JSON, bearer), and the human's form posts on its pages.
#![allow(dead_code)]

use opentrain_mcp::sandbox::Sandbox;
use serde_json::{Value, json};
use tempfile::TempDir;

/// reqwest is built without its `json` feature.
pub trait JsonBody {
    fn json_body(self, body: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }
}

pub async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

pub struct Sb {
    pub sandbox: Sandbox,
    pub dir: TempDir,
    pub http: reqwest::Client,
}

/// A response: status and JSON (or `{"html": text}` for a page).
pub struct Got {
    pub status: u16,
    pub body: Value,
    pub location: Option<String>,
}

impl Sb {
    pub async fn new() -> Sb {
        Sb::with_seed(None).await
    }

    pub async fn with_seed(seed: Option<u64>) -> Sb {
        let dir = TempDir::new().unwrap();
        Sb::in_dir(dir, seed).await
    }

    pub async fn in_dir(dir: TempDir, seed: Option<u64>) -> Sb {
        let sandbox = Sandbox::start(dir.path(), 0, seed).await.unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Sb { sandbox, dir, http }
    }

    pub fn base(&self) -> &str {
        &self.sandbox.base_url
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/public/v1{path}", self.base())
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Got {
        let response = req.send().await.unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let html = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/html"));
        let text = response.text().await.unwrap();
        let body = if html {
            json!({ "html": text })
        } else if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text }))
        };
        Got {
            status,
            body,
            location,
        }
    }

    pub async fn get(&self, token: &str, path: &str) -> Got {
        self.send(self.http.get(self.api(path)).bearer_auth(token))
            .await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Got {
        self.send(
            self.http
                .post(self.api(path))
                .bearer_auth(token)
                .json_body(&body),
        )
        .await
    }

    pub async fn post_empty(&self, token: &str, path: &str) -> Got {
        self.send(self.http.post(self.api(path)).bearer_auth(token))
            .await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Got {
        self.send(
            self.http
                .patch(self.api(path))
                .bearer_auth(token)
                .json_body(&body),
        )
        .await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Got {
        self.send(self.http.delete(self.api(path)).bearer_auth(token))
            .await
    }

    /// `POST /api/agent{path}` with a JSON body.
    pub async fn agent_json(&self, path: &str, body: Value) -> Got {
        self.send(
            self.http
                .post(format!("{}/api/agent{path}", self.base()))
                .json_body(&body),
        )
        .await
    }

    /// `POST /api/agent{path}` form-encoded.
    pub async fn agent_form(&self, path: &str, fields: &[(&str, &str)]) -> Got {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            self.http
                .post(format!("{}/api/agent{path}", self.base()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// A page (absolute URL or path).
    pub async fn page(&self, url: &str) -> Got {
        self.send(self.http.get(self.absolute(url))).await
    }

    /// The human submits a page's form: a form POST to the page's own URL.
    pub async fn submit(&self, url: &str, fields: &[(&str, &str)]) -> Got {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            self.http
                .post(self.absolute(url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http") {
            assert!(
                url.starts_with(self.base()),
                "{url} is not on the sandbox {}",
                self.base()
            );
            url.to_owned()
        } else {
            format!("{}{url}", self.base())
        }
    }

    /// Moves sandbox time forward.
    pub async fn advance_hours(&self, hours: u32) {
        let got = self
            .submit("/sandbox/clock", &[("hours", &hours.to_string())])
            .await;
        assert_eq!(got.status, 303);
    }

    /// Registers an agent: (access token, claim token).
    pub async fn register(&self) -> (String, String) {
        let got = self
            .agent_json(
                "/identity",
                json!({"identity_type": "anonymous", "agent_name": "Test agent", "organization_name": "Acme"}),
            )
            .await;
        assert_eq!(got.status, 200, "{}", got.body);
        (
            got.body["access_token"].as_str().unwrap().to_owned(),
            got.body["claim_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Runs the claim: start, the human accepts on the page (with `extras` when given), poll.
    /// Returns the new token's answer.
    pub async fn claim(&self, claim_token: &str, email: &str, extras: Option<&[&str]>) -> Value {
        let start = self
            .agent_json(
                "/identity/claim",
                json!({"claim_token": claim_token, "email": email}),
            )
            .await;
        assert_eq!(start.status, 200, "{}", start.body);
        let link = start.body["verification_uri"].as_str().unwrap().to_owned();
        let code = start.body["user_code"].as_str().unwrap().to_owned();
        let mut fields = vec![("action", "accept"), ("user_code", code.as_str())];
        if let Some(extras) = extras {
            fields.push(("extras_shown", "1"));
            for e in extras {
                fields.push(("grant", e));
            }
        }
        let accepted = self.submit(&link, &fields).await;
        assert_eq!(accepted.status, 303, "{}", accepted.body);
        let token = self
            .agent_form(
                "/oauth/token",
                &[
                    ("grant_type", "urn:opentrain:agent-auth:grant-type:claim"),
                    ("claim_token", claim_token),
                ],
            )
            .await;
        assert_eq!(token.status, 200, "{}", token.body);
        token.body
    }

    /// A registered and claimed account with every scope: its token.
    pub async fn claimed(&self, email: &str) -> String {
        let (_, claim) = self.register().await;
        let answer = self.claim(&claim, email, None).await;
        answer["access_token"].as_str().unwrap().to_owned()
    }

    /// A publish-ready draft, published: its job id.
    pub async fn published_job(&self, token: &str) -> String {
        let id = self.ready_draft(token).await;
        let got = self.post_empty(token, &format!("/jobs/{id}/publish")).await;
        assert_eq!(got.status, 200, "{}", got.body);
        id
    }

    pub async fn ready_draft(&self, token: &str) -> String {
        let got = self
            .post(
                token,
                "/job-drafts",
                json!({"rawJobDescription": "We need 5 fluent Spanish speakers to label sentiment in ~20,000 social media posts. Pay per label. Intermediate experience."}),
            )
            .await;
        assert_eq!(got.status, 201, "{}", got.body);
        let id = got.body["jobId"].as_str().unwrap().to_owned();
        let got = self
            .patch(
                token,
                &format!("/job-drafts/{id}"),
                json!({"pricePerLabel": 0.06}),
            )
            .await;
        assert_eq!(got.body["validation"]["publishReady"], true, "{}", got.body);
        id
    }

    /// Lists the job's proposals until at least `n` arrived (each call is a tick).
    pub async fn proposals(&self, token: &str, job: &str, n: usize) -> Vec<Value> {
        for _ in 0..10 {
            let got = self.get(token, &format!("/jobs/{job}/proposals")).await;
            assert_eq!(got.status, 200, "{}", got.body);
            let list = got.body["proposals"].as_array().unwrap().clone();
            if list.len() >= n {
                return list;
            }
        }
        panic!("fewer than {n} proposals arrived");
    }

    /// Buys `usd` of credits (top-up paid on the checkout page).
    pub async fn top_up(&self, token: &str, usd: u32) {
        let got = self
            .post(token, "/credits/top-ups", json!({"amountUsd": usd}))
            .await;
        assert_eq!(got.status, 201, "{}", got.body);
        let paid = self
            .submit(
                got.body["checkoutUrl"].as_str().unwrap(),
                &[("action", "pay")],
            )
            .await;
        assert_eq!(paid.status, 303, "{}", paid.body);
    }

    /// The human confirms an approval page, paying from `source`.
    pub async fn confirm(&self, approval_url: &str, source: Option<&str>) {
        let mut fields = vec![("action", "confirm")];
        if let Some(s) = source {
            fields.push(("source", s));
        }
        let got = self.submit(approval_url, &fields).await;
        assert_eq!(got.status, 303, "{}", got.body);
    }
}
