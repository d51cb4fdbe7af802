//! The simulated API, one file per area as in `src/tools/`: agent auth, jobs, proposals,
//! messages, contracts (milestones, approvals), credits, payments, updates, webhooks, tokens,
//! team. Each area is a table of routes (`ROUTES`: method, path pattern, handler) whose handlers
//! are plain functions of one transaction. Everything the areas share lives here: the one axum
//! handler that matches a request against the tables (the most literal pattern wins, so
//! `/jobs/mine` beats `/jobs/{id}`), the error envelope, authentication with scopes and the claim
//! rule, query and body parsing, and running a handler in one transaction on the blocking pool.
//! (One axum handler instead of 48 keeps the binary small: each axum handler and each
//! blocking-pool closure type is its own copy of that machinery.)

pub mod auth;
pub mod contracts;
pub mod credits;
pub mod jobs;
pub mod messages;
pub mod payments;
pub mod proposals;
pub mod team;
pub mod tokens;
pub mod updates;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::store::{Rollback, Store, Tx};
use super::{clock, world};

/// Shared by every handler.
#[derive(Clone)]
pub struct App(pub Arc<AppInner>);

pub struct AppInner {
    pub store: Arc<Store>,
    /// `http://127.0.0.1:<port>`: every URL the sandbox returns starts with it.
    pub base: String,
    /// Wakes the webhook worker after a write.
    pub wake: Arc<Notify>,
}

/// A refusal, in the envelope of `/api/public/v1` or the OAuth shape of `/api/agent`.
#[derive(Debug)]
pub struct ApiErr {
    pub status: u16,
    pub body: Value,
}

impl ApiErr {
    /// `{error, code, requestId, details?}` with the code the status implies.
    pub fn new(status: u16, message: impl Into<String>) -> ApiErr {
        let code = match status {
            400 => "BAD_REQUEST",
            401 => "UNAUTHORIZED",
            403 => "FORBIDDEN",
            404 => "NOT_FOUND",
            409 => "CONFLICT",
            429 => "RATE_LIMITED",
            _ => "INTERNAL_ERROR",
        };
        ApiErr {
            status,
            body: json!({"error": message.into(), "code": code, "requestId": super::request_id()}),
        }
    }

    /// Adds `details.<key>`.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> ApiErr {
        if !self.body["details"].is_object() {
            self.body["details"] = json!({});
        }
        self.body["details"][key] = value.into();
        self
    }

    pub fn bad(field: &str, message: impl Into<String>) -> ApiErr {
        ApiErr::new(400, message).detail("field", field)
    }

    pub fn not_found(resource: &str, id_key: &str, id: &str) -> ApiErr {
        ApiErr::new(
            404,
            format!("No such {} found.", resource.trim_end_matches('s')),
        )
        .detail("resource", resource)
        .detail(id_key, id)
    }

    pub fn conflict(reason: &str, message: impl Into<String>) -> ApiErr {
        ApiErr::new(409, message).detail("reason", reason)
    }

    /// `{error, error_description}` (agent auth).
    pub fn oauth(status: u16, error: &str, description: impl Into<String>) -> ApiErr {
        ApiErr {
            status,
            body: json!({"error": error, "error_description": description.into()}),
        }
    }
}

impl From<rusqlite::Error> for ApiErr {
    fn from(e: rusqlite::Error) -> ApiErr {
        tracing::warn!("sandbox database: {e}");
        ApiErr::new(
            500,
            "The sandbox could not read or write its world; try again.",
        )
    }
}

impl Rollback for ApiErr {
    fn rollback(&self) -> bool {
        self.status >= 500
    }
}

/// A handler's answer: status and JSON body.
pub type Reply = Result<(u16, Value), ApiErr>;

fn json_response(status: u16, body: &Value) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body.to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The caller of an authenticated request.
pub struct Ctx {
    pub account_id: String,
    pub account: Value,
    pub token_id: String,
    pub scopes: Vec<String>,
    pub base: String,
}

impl Ctx {
    /// Whether the token holds `scope` (a `:write` scope covers its `:read`).
    pub fn has(&self, scope: &str) -> bool {
        has_scope(&self.scopes, scope)
    }

    /// 403 naming the missing scope(s): any one of `scopes` will do.
    pub fn need(&self, scopes: &[&str]) -> Result<(), ApiErr> {
        if scopes.iter().any(|s| self.has(s)) {
            return Ok(());
        }
        Err(ApiErr::new(
            403,
            format!(
                "This token lacks the required scope ({}).",
                scopes.join(" or ")
            ),
        )
        .detail("requiredScopes", scopes.to_vec())
        .detail("grantedScopes", self.scopes.clone()))
    }

    pub fn claimed(&self) -> bool {
        self.account["claimed"] == true
    }

    /// 403 `account_claim_required` with the claim page, until a human claims the account.
    pub fn need_claimed(&self, action: &str) -> Result<(), ApiErr> {
        if self.claimed() {
            return Ok(());
        }
        Err(ApiErr::new(
            403,
            format!("A human must claim this agent account before it can {action}."),
        )
        .detail("reason", "account_claim_required")
        .detail("action", action)
        .detail("claimUrl", format!("{}/claim", self.base)))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub fn has_scope(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| s == scope)
        || scope
            .strip_suffix(":read")
            .is_some_and(|r| scopes.iter().any(|s| *s == format!("{r}:write")))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn authenticate(tx: &Tx, base: &str, token: Option<&str>) -> Result<Ctx, ApiErr> {
    let unauthorized = || ApiErr::new(401, "Missing, invalid, expired or revoked API token.");
    let token = token.ok_or_else(unauthorized)?;
    let mut record = tx
        .find("tokens", "hash", &super::hash(token))?
        .ok_or_else(unauthorized)?;
    let expired = record["expiresAt"].as_i64().is_some_and(|e| e <= tx.now);
    if record["status"] != "active" || expired {
        return Err(unauthorized());
    }
    let account_id = record["account"].as_str().unwrap_or_default().to_owned();
    let account = tx.get("accounts", &account_id)?.ok_or_else(unauthorized)?;
    record["lastUsedAt"] = json!(tx.now);
    let token_id = record["id"].as_str().unwrap_or_default().to_owned();
    tx.save("tokens", &token_id, &record)?;
    Ok(Ctx {
        account_id,
        account,
        token_id,
        scopes: strings(&record["scopes"]),
        base: base.to_owned(),
    })
}

/// A JSON array of strings as a Vec (anything else is skipped).
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The query string, decoded.
#[derive(Clone, Debug, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The value of `key`, when present and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `limit` in `1..=max`, `default` when absent; anything else is a 400 naming the field.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, ApiErr> {
        match self.get("limit") {
            None => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiErr::bad(
                    "limit",
                    format!("limit must be an integer from 1 to {max}."),
                )),
            },
        }
    }
}

/// The body as a JSON object (400 otherwise). An empty body is `{}` when `empty_ok`.
pub fn json_object(body: &[u8], empty_ok: bool) -> Result<serde_json::Map<String, Value>, ApiErr> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return if empty_ok {
            Ok(Default::default())
        } else {
            Err(ApiErr::new(400, "The request body must be a JSON object."))
        };
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiErr::new(400, "The request body must be a JSON object.")),
        Err(e) => Err(ApiErr::new(400, format!("Invalid JSON body: {e}."))),
    }
}

/// A zod-style issue list entry, as validation 400s carry in `details.issues`.
pub fn issue(path: &str, code: &str, message: &str) -> Value {
    let path: Vec<Value> = if path.is_empty() {
        Vec::new()
    } else {
        vec![json!(path)]
    };
    json!({"code": code, "path": path, "message": message})
}

/// Page of `items` after the one whose `id` is `cursor`; `nextCursor` is the last id shown when
/// more follow.
pub fn page(
    items: Vec<Value>,
    cursor: Option<&str>,
    limit: usize,
    id_of: impl Fn(&Value) -> String,
) -> Result<(Vec<Value>, Value), ApiErr> {
    let start = match cursor {
        None => 0,
        Some(c) => match items.iter().position(|i| id_of(i) == c) {
            Some(i) => i + 1,
            None => return Err(ApiErr::bad("cursor", "Unknown or expired cursor.")),
        },
    };
    let rest: Vec<Value> = items.into_iter().skip(start).collect();
    let more = rest.len() > limit;
    let shown: Vec<Value> = rest.into_iter().take(limit).collect();
    let next = if more {
        shown.last().map(|v| json!(id_of(v))).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    Ok((shown, next))
}

/// A money amount in USD with at most two decimals, as the API writes them (300, 0.06, 339.95).
pub fn usd(cents: i64) -> Value {
    if cents % 100 == 0 {
        json!(cents / 100)
    } else {
        json!(cents as f64 / 100.0)
    }
}

pub fn cents(usd: f64) -> i64 {
    (usd * 100.0).round() as i64
}

pub fn iso(ms: &Value) -> Value {
    ms.as_i64()
        .map(|m| json!(clock::iso(m)))
        .unwrap_or(Value::Null)
}

impl App {
    pub fn new(store: Arc<Store>, base: String, wake: Arc<Notify>) -> App {
        App(Arc::new(AppInner { store, base, wake }))
    }

    pub fn base(&self) -> &str {
        &self.0.base
    }

    /// Runs a route's handler in one transaction on the blocking pool.
    async fn run(&self, handler: Handler, token: Option<String>, req: Req) -> Response {
        let store = self.0.store.clone();
        let base = self.0.base.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            store.tx(|tx| match handler {
                Handler::Open(f) => f(tx, &base, &req),
                Handler::Authed(f) => {
                    let ctx = authenticate(tx, &base, token.as_deref())?;
                    world::tick(tx, &ctx.account_id)?;
                    f(tx, &ctx, &req)
                }
            })
        })
        .await;
        self.0.wake.notify_one();
        match outcome {
            Ok(Ok((status, body))) => json_response(status, &body),
            Ok(Err(e)) => json_response(e.status, &e.body),
            Err(_) => json_response(
                500,
                &ApiErr::new(500, "The sandbox failed on this request.").body,
            ),
        }
    }
}

/// What a handler gets: the path's parameter (every route has at most one), the query, the body.
pub struct Req {
    pub params: Vec<String>,
    pub query: Query,
    pub body: Bytes,
}

impl Req {
    /// The route's path parameter.
    pub fn param(&self) -> &str {
        self.params.first().map(String::as_str).unwrap_or("")
    }
}

/// A handler: one that needs a token (authenticated, the account's world moved one tick), or
/// one that does not (agent auth, the public marketplace), given the base URL.
#[derive(Clone, Copy)]
pub enum Handler {
    Authed(fn(&mut Tx, &Ctx, &Req) -> Reply),
    Open(fn(&mut Tx, &str, &Req) -> Reply),
}

/// One endpoint: method, path pattern (`{name}` is a parameter), handler.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub handler: Handler,
}

impl Route {
    pub const fn new(method: &'static str, path: &'static str, handler: Handler) -> Route {
        Route {
            method,
            path,
            handler,
        }
    }
}

/// Every endpoint, area by area (as `src/tools/` groups the tools).
const AREAS: &[&[Route]] = &[
    auth::AGENT_ROUTES,
    auth::ROUTES,
    jobs::ROUTES,
    proposals::ROUTES,
    messages::ROUTES,
    contracts::ROUTES,
    credits::ROUTES,
    payments::ROUTES,
    updates::ROUTES,
    webhooks::ROUTES,
    tokens::ROUTES,
    team::ROUTES,
];

/// The path parameters if `path` matches `pattern`, and how many literal segments matched (the
/// most literal match wins: `/jobs/mine` over `/jobs/{id}`).
fn matches(pattern: &str, path: &str) -> Option<(usize, Vec<String>)> {
    let want: Vec<&str> = pattern.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    if want.len() != got.len() {
        return None;
    }
    let mut literal = 0;
    let mut params = Vec::new();
    for (w, g) in want.iter().zip(&got) {
        if w.starts_with('{') {
            let decoded = percent_encoding::percent_decode_str(g).decode_utf8().ok()?;
            if decoded.is_empty() {
                return None;
            }
            params.push(decoded.into_owned());
        } else if w == g {
            literal += 1;
        } else {
            return None;
        }
    }
    Some((literal, params))
}

/// The one HTTP handler of the API: finds the route, then runs it.
async fn api(
    axum::extract::State(app): axum::extract::State<App>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/');
    let mut best: Option<(usize, &Route, Vec<String>)> = None;
    let mut path_known = false;
    for route in AREAS.iter().flat_map(|a| a.iter()) {
        let Some((literal, params)) = matches(route.path, path) else {
            continue;
        };
        path_known = true;
        if route.method != method.as_str() {
            continue;
        }
        if best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
            best = Some((literal, route, params));
        }
    }
    let Some((_, route, params)) = best else {
        let (status, message) = if path_known {
            (405, "This endpoint does not accept that method.")
        } else {
            (404, "No such endpoint in the OpenTrain API.")
        };
        return json_response(status, &ApiErr::new(status, message).body);
    };
    let req = Req {
        params,
        query: Query::parse(uri.query()),
        body,
    };
    app.run(route.handler, bearer(&headers), req).await
}

/// A body as handlers take it.
pub type Body = Bytes;

/// Every API route, under `/api/public/v1` and `/api/agent`.
pub fn router() -> Router<App> {
    let any = || axum::routing::any(api);
    Router::new()
        .route("/api/public/v1/{*rest}", any())
        .route("/api/agent/{*rest}", any())
}
