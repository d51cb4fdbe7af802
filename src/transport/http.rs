//! `opentrain-mcp --http ADDR`: MCP over Streamable HTTP at `/mcp`, stateless, for many agents
//! and many OpenTrain accounts at once.
//!
//! One request to `/mcp`, in order:
//! 1. `Host` and `Origin` are checked against DNS rebinding (loopback by default, more by flag):
//!    403 otherwise, before anything else is looked at.
//! 2. `Authorization: Bearer …` is required: 401 with `WWW-Authenticate` naming the RFC 9728
//!    metadata otherwise. In single-tenant mode the bearer is the operator's client secret (if
//!    one is set) and the calls use the operator's own token.
//! 3. The `X-OpenTrain-*` narrowing headers are read (400 when they name what does not exist).
//! 4. The token's concurrency permit is taken (429 when it already has the maximum in flight);
//!    the permit is keyed by an HMAC of the token under a key made at start, never the token.
//! 5. Token and narrowing go into the request as a [`Scope`], the `Authorization` header is
//!    removed, and rmcp's `StreamableHttpService` (stateless, JSON answers) runs the call; the
//!    server's handlers read the scope back with [`scope_of`]. Nothing outlives the request.
//!
//! Also `/healthz`, `/readyz`, `/metrics` (no checks: probes and scrapers use the pod's address)
//! and `/.well-known/oauth-protected-resource[/…]`. On SIGTERM or Ctrl-C readiness fails, the
//! listener closes, and calls in flight get the grace period to finish.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, AUTHORIZATION, CONTENT_TYPE, HOST,
    HeaderName, HeaderValue, ORIGIN, RETRY_AFTER, VARY, WWW_AUTHENTICATE,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use rmcp::model::{Extensions, Tool};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use url::Url;

use crate::api::budget::AnswerHolds;
use crate::filter::{Selection, split_list, truthy};
use crate::secret::Secret;
use crate::server::{Caller, OpenTrain, Scope, Transport};
use crate::tools::Toolset;

pub const ENV_LISTEN: &str = "OPENTRAIN_HTTP_LISTEN";
pub const ENV_ALLOWED_HOSTS: &str = "OPENTRAIN_HTTP_ALLOWED_HOSTS";
pub const ENV_ALLOWED_ORIGINS: &str = "OPENTRAIN_HTTP_ALLOWED_ORIGINS";
pub const ENV_PUBLIC_URL: &str = "OPENTRAIN_HTTP_PUBLIC_URL";
pub const ENV_SINGLE_TENANT: &str = "OPENTRAIN_HTTP_SINGLE_TENANT";
pub const ENV_CLIENT_SECRET: &str = "OPENTRAIN_HTTP_CLIENT_SECRET";
pub const ENV_CORS: &str = "OPENTRAIN_HTTP_CORS";
pub const ENV_MAX_PER_TOKEN: &str = "OPENTRAIN_HTTP_MAX_CONCURRENT_PER_TOKEN";
pub const ENV_GRACE: &str = "OPENTRAIN_HTTP_SHUTDOWN_GRACE_SECS";

/// The per-request narrowing headers: the same words as the flags, never more than they allow.
pub const HEADER_TOOLSETS: &str = "x-opentrain-toolsets";
pub const HEADER_TOOLS: &str = "x-opentrain-tools";
pub const HEADER_EXCLUDE_TOOLS: &str = "x-opentrain-exclude-tools";
pub const HEADER_READ_ONLY: &str = "x-opentrain-read-only";
const HEADER_REQUEST_ID: &str = "x-request-id";

/// The largest JSON-RPC body accepted (413 above it). Arguments are capped again, at 1 MiB of
/// string content, by the dispatch (`server::MAX_ARGUMENT_BYTES`).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Longest bearer token read; anything longer is refused unread.
const MAX_TOKEN_BYTES: usize = 4096;
/// Shortest single-tenant client secret accepted.
const MIN_CLIENT_SECRET: usize = 16;
pub const DEFAULT_MAX_PER_TOKEN: usize = 16;
pub const DEFAULT_GRACE: Duration = Duration::from_secs(20);

/// Hosts and origins served without a flag: this machine's loopback names.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// `--http` and its companions, as given (flags win over the environment).
#[derive(Clone, Debug, Default)]
pub struct HttpFlags {
    pub listen: Option<String>,
    pub allowed_hosts: Option<String>,
    pub allowed_origins: Option<String>,
    pub public_url: Option<String>,
    pub single_tenant: bool,
    pub cors: bool,
    pub max_per_token: Option<String>,
    pub grace: Option<String>,
}

/// Checked settings of the HTTP server.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// `None`: any host (`--allowed-hosts '*'`).
    hosts: Option<Vec<HostRule>>,
    /// `None`: any origin (`--allowed-origins '*'`).
    origins: Option<Vec<OriginRule>>,
    pub cors: bool,
    pub public_url: Option<Url>,
    pub single_tenant: bool,
    client_secret: Option<Secret>,
    pub max_per_token: usize,
    pub grace: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct HostRule {
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct OriginRule {
    scheme: String,
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

/// `8080` and `:8080` mean 127.0.0.1:8080; `localhost:8080` too; otherwise an IP address and
/// port (`0.0.0.0:8080`, `[::1]:8080`). Port 0 picks a free port.
pub fn parse_listen(raw: &str) -> Result<SocketAddr, String> {
    let raw = raw.trim();
    let loopback = |port: &str| {
        port.parse::<u16>()
            .ok()
            .map(|p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p))
    };
    let parsed = if let Some(port) = raw.strip_prefix(':') {
        loopback(port)
    } else if let Some(port) = raw.strip_prefix("localhost:") {
        loopback(port)
    } else if raw.bytes().all(|b| b.is_ascii_digit()) {
        loopback(raw)
    } else {
        SocketAddr::from_str(raw).ok()
    };
    parsed.ok_or_else(|| {
        format!(
            "--http {raw:?} is not an address to listen on: give PORT or :PORT (127.0.0.1), \
             IP:PORT or [IPv6]:PORT, e.g. --http 8080 or --http 0.0.0.0:8080"
        )
    })
}

fn parse_host_rule(raw: &str) -> Result<HostRule, String> {
    let raw = raw.trim();
    let authority = axum::http::uri::Authority::from_str(raw)
        .map_err(|_| format!("--allowed-hosts: {raw:?} is not a host or host:port"))?;
    Ok(HostRule {
        host: normalize_host(authority.host()),
        port: authority.port_u16(),
    })
}

fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// An `Origin` value: scheme, host and port (the scheme's default when not written).
fn parse_origin(raw: &str) -> Option<(String, String, u16)> {
    let url = Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.path() != "/" || url.query().is_some() {
        return None;
    }
    Some((
        url.scheme().to_owned(),
        normalize_host(url.host_str()?),
        url.port_or_known_default()?,
    ))
}

fn parse_origin_rule(raw: &str) -> Result<OriginRule, String> {
    let raw = raw.trim();
    let bad = || {
        format!(
            "--allowed-origins: {raw:?} is not an origin like https://app.example.com, \
             https://app.example.com:8443 or http://localhost:*"
        )
    };
    let (base, any_port) = match raw.strip_suffix(":*") {
        Some(base) => (base, true),
        None => (raw, false),
    };
    let (scheme, host, port) = parse_origin(base).ok_or_else(bad)?;
    Ok(OriginRule {
        scheme,
        host,
        port: (!any_port).then_some(port),
    })
}

impl HttpFlags {
    /// Whether HTTP mode is asked for (`--http` or `OPENTRAIN_HTTP_LISTEN`).
    pub fn wanted(&self, env: &dyn Fn(&str) -> Option<String>) -> bool {
        self.listen.is_some() || env(ENV_LISTEN).is_some()
    }

    /// The checked settings; every problem found, joined.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<HttpConfig, String> {
        let mut problems = Vec::new();
        let listen = self
            .listen
            .clone()
            .or_else(|| env(ENV_LISTEN))
            .map(|raw| parse_listen(&raw))
            .transpose()
            .unwrap_or_else(|e| {
                problems.push(e);
                None
            })
            .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080));

        let list = |flag: &Option<String>, var: &str| {
            split_list(&flag.clone().or_else(|| env(var)).unwrap_or_default())
        };
        let extra_hosts = list(&self.allowed_hosts, ENV_ALLOWED_HOSTS);
        let hosts = if extra_hosts.iter().any(|h| h == "*") {
            None
        } else {
            let mut rules: Vec<HostRule> = LOOPBACK_HOSTS
                .iter()
                .map(|h| HostRule {
                    host: (*h).to_owned(),
                    port: None,
                })
                .collect();
            for raw in &extra_hosts {
                match parse_host_rule(raw) {
                    Ok(rule) => rules.push(rule),
                    Err(e) => problems.push(e),
                }
            }
            Some(rules)
        };
        let extra_origins = list(&self.allowed_origins, ENV_ALLOWED_ORIGINS);
        let origins = if extra_origins.iter().any(|o| o == "*") {
            None
        } else {
            let mut rules = Vec::new();
            for scheme in ["http", "https"] {
                for host in LOOPBACK_HOSTS {
                    rules.push(OriginRule {
                        scheme: scheme.to_owned(),
                        host: host.to_owned(),
                        port: None,
                    });
                }
            }
            for raw in &extra_origins {
                match parse_origin_rule(raw) {
                    Ok(rule) => rules.push(rule),
                    Err(e) => problems.push(e),
                }
            }
            Some(rules)
        };
        let public_url = match self.public_url.clone().or_else(|| env(ENV_PUBLIC_URL)) {
            None => None,
            Some(raw) => match Url::parse(raw.trim()) {
                Ok(mut url)
                    if matches!(url.scheme(), "http" | "https")
                        && url.host().is_some()
                        && url.query().is_none()
                        && url.fragment().is_none() =>
                {
                    let path = url.path().trim_end_matches('/').to_owned();
                    url.set_path(&path);
                    Some(url)
                }
                _ => {
                    problems.push(format!(
                        "--public-url {raw:?} must be an http(s) URL without query, e.g. \
                         https://mcp.example.com"
                    ));
                    None
                }
            },
        };
        let single_tenant =
            self.single_tenant || env(ENV_SINGLE_TENANT).is_some_and(|v| truthy(&v));
        let cors = self.cors || env(ENV_CORS).is_some_and(|v| truthy(&v));
        let client_secret = env(ENV_CLIENT_SECRET).and_then(|v| Secret::new(&v));
        match (&client_secret, single_tenant) {
            (Some(_), false) => problems.push(format!(
                "{ENV_CLIENT_SECRET} is only for --single-tenant: without it every caller sends \
                 their own OpenTrain token"
            )),
            (Some(s), true) if s.expose().len() < MIN_CLIENT_SECRET => problems.push(format!(
                "{ENV_CLIENT_SECRET} must be at least {MIN_CLIENT_SECRET} characters"
            )),
            (None, true) if !listen.ip().is_loopback() => problems.push(format!(
                "--single-tenant serves this server's own OpenTrain token to whoever connects: \
                 listen on a loopback address (e.g. --http 127.0.0.1:8080), or set \
                 {ENV_CLIENT_SECRET} so that callers must send it as their bearer token"
            )),
            _ => {}
        }
        let number = |flag: &Option<String>, var: &str, what: &str, range: (u64, u64)| {
            let raw = flag.clone().or_else(|| env(var))?;
            match raw.trim().parse::<u64>() {
                Ok(n) if (range.0..=range.1).contains(&n) => Some(Ok(n)),
                _ => Some(Err(format!(
                    "{what} {raw:?} must be a whole number from {} to {}",
                    range.0, range.1
                ))),
            }
        };
        let max_per_token = match number(
            &self.max_per_token,
            ENV_MAX_PER_TOKEN,
            "--max-concurrent-per-token",
            (1, 10_000),
        ) {
            None => DEFAULT_MAX_PER_TOKEN,
            Some(Ok(n)) => n as usize,
            Some(Err(e)) => {
                problems.push(e);
                DEFAULT_MAX_PER_TOKEN
            }
        };
        let grace = match number(&self.grace, ENV_GRACE, "--shutdown-grace", (0, 3600)) {
            None => DEFAULT_GRACE,
            Some(Ok(n)) => Duration::from_secs(n),
            Some(Err(e)) => {
                problems.push(e);
                DEFAULT_GRACE
            }
        };
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(HttpConfig {
            listen,
            hosts,
            origins,
            cors,
            public_url,
            single_tenant,
            client_secret,
            max_per_token,
            grace,
        })
    }
}

impl HttpConfig {
    /// Which [`Transport`] the server must be built for.
    pub fn transport(&self) -> Transport {
        if self.single_tenant {
            Transport::HttpSingleTenant
        } else {
            Transport::Http
        }
    }

    fn host_allowed(&self, headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
        let Some(rules) = &self.hosts else {
            return true;
        };
        let authority = match headers.get(HOST) {
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|s| axum::http::uri::Authority::from_str(s).ok()),
            None => uri.authority().cloned(),
        };
        let Some(authority) = authority else {
            return false;
        };
        let host = normalize_host(authority.host());
        let port = authority.port_u16();
        rules
            .iter()
            .any(|r| r.host == host && r.port.is_none_or(|p| Some(p) == port))
    }

    /// A request without `Origin` (not from a browser) passes; one with it must match.
    fn origin_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(ORIGIN) else {
            return true;
        };
        let Some(rules) = &self.origins else {
            return true;
        };
        let Some((scheme, host, port)) = value.to_str().ok().and_then(parse_origin) else {
            return false;
        };
        rules
            .iter()
            .any(|r| r.scheme == scheme && r.host == host && r.port.is_none_or(|p| p == port))
    }

    /// The same rules for rmcp's own checks (a second line of defence behind ours).
    fn rmcp_config(&self) -> StreamableHttpServerConfig {
        let mut config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_max_request_body_bytes(MAX_BODY_BYTES);
        config = match &self.hosts {
            None => config.disable_allowed_hosts(),
            Some(rules) => config.with_allowed_hosts(rules.iter().map(|r| match r.port {
                Some(port) if r.host.contains(':') => format!("[{}]:{port}", r.host),
                Some(port) => format!("{}:{port}", r.host),
                None => r.host.clone(),
            })),
        };
        match &self.origins {
            None => config.disable_allowed_origins(),
            Some(rules) => config.with_allowed_origins(rules.iter().map(|r| {
                let host = if r.host.contains(':') {
                    format!("[{}]", r.host)
                } else {
                    r.host.clone()
                };
                match r.port {
                    Some(port) => format!("{}://{host}:{port}", r.scheme),
                    None => format!("{}://{host}:*", r.scheme),
                }
            })),
        }
    }
}

/// The scope the HTTP transport put in a request, as a server handler sees its extensions.
pub fn scope_of(extensions: &Extensions) -> Option<Scope> {
    extensions
        .get::<Parts>()
        .and_then(|parts| parts.extensions.get::<Scope>())
        .cloned()
}

// ---------------------------------------------------------------------------------------------
// Per-token concurrency

/// Requests in flight per token, keyed by an HMAC of the token under a key made at start: the
/// map never holds a token, nor a hash that could be checked against a guessed one elsewhere.
struct Limiter {
    key: ring::hmac::Key,
    max: usize,
    in_flight: Mutex<HashMap<[u8; 32], usize>>,
}

/// One request's place in its token's count, given back when dropped.
struct Permit {
    limiter: Arc<Limiter>,
    key: [u8; 32],
}

impl Limiter {
    fn new(max: usize) -> Result<Limiter, String> {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
            .map_err(|_| "could not make a random key (the OS random source failed)".to_owned())?;
        Ok(Limiter {
            key,
            max,
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    fn acquire(self: &Arc<Self>, token: &[u8]) -> Option<Permit> {
        let tag = ring::hmac::sign(&self.key, token);
        let mut key = [0u8; 32];
        key.copy_from_slice(tag.as_ref());
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let count = map.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Permit {
            limiter: self.clone(),
            key,
        })
    }

    /// Whether `given` is `expected`, in constant time (both through the HMAC).
    fn same_secret(&self, given: &[u8], expected: &Secret) -> bool {
        let tag = ring::hmac::sign(&self.key, given);
        ring::hmac::verify(&self.key, expected.expose().as_bytes(), tag.as_ref()).is_ok()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut map = self
            .limiter
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = map.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// A response body that holds the request's permit, and the answer budget its call took, until
/// the answer has been written.
struct WithPermit<B> {
    body: B,
    _permit: Option<Permit>,
    _holds: AnswerHolds,
}

impl<B: http_body::Body + Unpin> http_body::Body for WithPermit<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

// ---------------------------------------------------------------------------------------------
// The server

struct App {
    server: OpenTrain,
    service: StreamableHttpService<OpenTrain, NeverSessionManager>,
    config: HttpConfig,
    /// Every toolset's tools, for the narrowing headers.
    listed: Vec<(Toolset, Vec<Tool>)>,
    limiter: Arc<Limiter>,
    draining: AtomicBool,
    id_prefix: String,
    next_id: AtomicU64,
}

/// Serves MCP over HTTP until SIGTERM or Ctrl-C, then lets calls in flight finish within the
/// grace period. Writes `opentrain-mcp: listening on http://HOST:PORT/mcp` to stderr once the
/// port is open (the real port when 0 was asked for).
pub async fn serve(server: OpenTrain, config: HttpConfig) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let listed = OpenTrain::toolsets();
    crate::metrics::enable(
        listed
            .iter()
            .flat_map(|(_, tools)| tools.iter().map(|t| t.name.as_ref())),
    );
    let factory = server.clone();
    let service = StreamableHttpService::new(
        move || Ok(factory.clone()),
        Arc::new(NeverSessionManager::default()),
        config.rmcp_config(),
    );
    let limiter = Arc::new(Limiter::new(config.max_per_token)?);
    let mut prefix = [0u8; 3];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut prefix)
        .map_err(|_| "could not make a random id (the OS random source failed)".to_owned())?;
    if !addr.ip().is_loopback()
        && config
            .hosts
            .as_ref()
            .is_some_and(|h| h.len() == LOOPBACK_HOSTS.len())
    {
        tracing::warn!(
            "listening on {addr}, but only loopback Host names are allowed: requests through \
             any other name or address get 403. Name the hosts clients use with \
             --allowed-hosts (e.g. mcp.example.com)."
        );
    }
    let grace = config.grace;
    let app = Arc::new(App {
        server,
        service,
        config,
        listed,
        limiter,
        draining: AtomicBool::new(false),
        id_prefix: prefix.iter().map(|b| format!("{b:02x}")).collect(),
        next_id: AtomicU64::new(1),
    });
    let router = Router::new()
        .route("/mcp", any(mcp))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/.well-known/oauth-protected-resource",
            get(resource_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*rest}",
            get(resource_metadata),
        )
        .fallback(not_found)
        .with_state(app.clone());

    // Listening for signals starts before the port is announced, so none is missed.
    let signals = Signals::new();
    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
    let shutdown = {
        let app = app.clone();
        async move {
            signals.recv().await;
            app.draining.store(true, Ordering::SeqCst);
            tracing::info!(
                "stopping: no new connections; {} calls in flight get up to {} s",
                crate::metrics::in_flight(),
                grace.as_secs()
            );
            let _ = stopping_tx.send(true);
        }
    };
    tracing::info!(
        "serving {} tools over HTTP at http://{addr}/mcp ({})",
        app.server.tools().len(),
        if app.config.single_tenant {
            "single-tenant: this server's own token"
        } else {
            "each request's own bearer token"
        }
    );
    eprintln!("opentrain-mcp: listening on http://{addr}/mcp"); // stdout-ok: stderr; the one line operators and tests read the address from
    // Answers are small and written whole: no Nagle delay waiting for the client's ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let serving = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .into_future();
    let deadline = async move {
        let _ = stopping.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = serving => result.map_err(|e| format!("the HTTP server failed: {e}"))?,
        () = deadline => tracing::warn!(
            "the {} s grace period is over with {} calls still in flight; exiting",
            grace.as_secs(),
            crate::metrics::in_flight()
        ),
    }
    Ok(())
}

/// SIGTERM (what Kubernetes and `docker stop` send) or Ctrl-C.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        Signals {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .inspect_err(|e| tracing::warn!("cannot listen for SIGTERM: {e}"))
                .ok(),
        }
    }

    async fn recv(self) {
        #[cfg(unix)]
        if let Some(mut term) = self.term {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n")
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.draining.load(Ordering::SeqCst) {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: shutting down\n",
        );
    }
    text(StatusCode::OK, "ready\n")
}

async fn metrics() -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::metrics::render(),
    )
        .into_response()
}

async fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "not found: MCP is served at /mcp (also /healthz, /readyz, /metrics)\n",
    )
}

impl App {
    /// This server's public origin and path prefix: `--public-url`, else `http://` and the
    /// (already checked) Host the request used.
    fn base(&self, headers: &HeaderMap) -> String {
        if let Some(url) = &self.config.public_url {
            return url.as_str().trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| self.config.listen.to_string());
        format!("http://{host}")
    }

    /// Where the RFC 9728 document for `/mcp` is: the well-known path goes between the origin
    /// and the resource's path.
    fn metadata_url(&self, headers: &HeaderMap) -> String {
        let base = self.base(headers);
        match Url::parse(&base) {
            Ok(url) => {
                let origin = url.origin().ascii_serialization();
                let path = url.path().trim_end_matches('/');
                format!("{origin}/.well-known/oauth-protected-resource{path}/mcp")
            }
            Err(_) => format!("{base}/.well-known/oauth-protected-resource/mcp"),
        }
    }

    fn request_id(&self, headers: &HeaderMap) -> String {
        // An id a proxy gave the request (nginx's $request_id) is kept when it is plain.
        if let Some(given) = headers
            .get(HEADER_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                (1..=64).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            })
        {
            return given.to_owned();
        }
        format!(
            "{}-{}",
            self.id_prefix,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The selection a request's narrowing headers ask for, intersected with the operator's.
    fn narrowing(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Arc<crate::filter::Enabled>>, String> {
        let value = |name: &str| -> Result<Option<String>, String> {
            match headers.get(name) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.to_owned()))
                    .map_err(|_| format!("the {name} header is not plain text")),
            }
        };
        let toolsets = value(HEADER_TOOLSETS)?;
        let tools = value(HEADER_TOOLS)?;
        let exclude = value(HEADER_EXCLUDE_TOOLS)?;
        let read_only = value(HEADER_READ_ONLY)?;
        if toolsets.is_none() && tools.is_none() && exclude.is_none() && read_only.is_none() {
            return Ok(None);
        }
        let selection = Selection {
            toolsets: toolsets.as_deref().map(split_list),
            tools: split_list(tools.as_deref().unwrap_or_default()),
            exclude: split_list(exclude.as_deref().unwrap_or_default()),
            read_only: read_only.as_deref().is_some_and(truthy),
        };
        let asked = selection.resolve(&self.listed)?;
        Ok(Some(Arc::new(self.server.enabled().intersect(&asked))))
    }

    fn unauthorized(&self, headers: &HeaderMap, why: &str) -> Response {
        let challenge = format!(
            "Bearer resource_metadata=\"{}\"",
            self.metadata_url(headers)
        );
        let mut response = text(StatusCode::UNAUTHORIZED, format!("{why}\n"));
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }

    /// Who the request acts for, and the bytes its concurrency is counted by; or why not.
    fn authenticate(&self, headers: &HeaderMap) -> Result<(Caller, Vec<u8>), &'static str> {
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_BYTES && !t.contains(' '));
        if self.config.single_tenant {
            return match (&self.config.client_secret, bearer) {
                (None, _) => Ok((Caller::Configured, b"single-tenant".to_vec())),
                (Some(secret), Some(given))
                    if self.limiter.same_secret(given.as_bytes(), secret) =>
                {
                    Ok((Caller::Configured, b"single-tenant".to_vec()))
                }
                (Some(_), _) => Err("This single-tenant MCP server needs its client secret as \
                     `Authorization: Bearer …` on every request (ask its operator)."),
            };
        }
        match bearer.and_then(Secret::new) {
            Some(token) => {
                let key = token.expose().as_bytes().to_vec();
                Ok((Caller::Bearer(token), key))
            }
            None => Err(
                "This MCP server needs `Authorization: Bearer ot_pat_…` on every request: your \
                 own OpenTrain personal API token (OpenTrain app → Settings → API keys, or the \
                 OpenTrain CLI). Each request's calls use that token and nothing else.",
            ),
        }
    }

    /// `/mcp`: the checks in order, then rmcp.
    async fn mcp(self: &Arc<Self>, span: &tracing::Span, mut req: Request) -> Response {
        if !self.config.host_allowed(req.headers(), req.uri()) {
            tracing::warn!("refused a request whose Host is not allowed (DNS rebinding?)");
            return text(
                StatusCode::FORBIDDEN,
                "forbidden: this Host is not served (see --allowed-hosts)\n",
            );
        }
        if !self.config.origin_allowed(req.headers()) {
            tracing::warn!("refused a request whose Origin is not allowed");
            return text(
                StatusCode::FORBIDDEN,
                "forbidden: this Origin is not allowed (see --allowed-origins)\n",
            );
        }
        if req.method() == Method::OPTIONS && self.config.cors {
            return preflight();
        }
        let (caller, key) = match self.authenticate(req.headers()) {
            Ok(found) => found,
            Err(why) => return self.unauthorized(req.headers(), why),
        };
        let narrowed = match self.narrowing(req.headers()) {
            Ok(n) => n,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("bad request: {e}\n")),
        };
        let Some(permit) = self.limiter.acquire(&key) else {
            crate::metrics::throttled();
            let mut response = text(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many requests: this token already has {} requests in flight on this \
                     server; retry when one has finished\n",
                    self.limiter.max
                ),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        };
        // The token now lives only in the scope; rmcp and whatever it logs never see it.
        req.headers_mut().remove(AUTHORIZATION);
        let holds = AnswerHolds::default();
        req.extensions_mut().insert(Scope {
            caller,
            narrowed,
            span: span.clone(),
            holds: holds.clone(),
        });
        self.service.handle(req).await.map(|body| {
            Body::new(WithPermit {
                body,
                _permit: Some(permit),
                _holds: holds,
            })
        })
    }

    /// CORS headers for an allowed browser origin, only when `--cors` is on.
    fn cors_headers(&self, request_origin: Option<&HeaderValue>, response: &mut Response) {
        let Some(origin) = request_origin.filter(|_| self.config.cors) else {
            return;
        };
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate, X-Request-Id, Mcp-Session-Id"),
        );
    }
}

fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, \
             Last-Event-Id, X-OpenTrain-Toolsets, X-OpenTrain-Tools, X-OpenTrain-Exclude-Tools, \
             X-OpenTrain-Read-Only",
        ),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

async fn mcp(State(app): State<Arc<App>>, req: Request) -> Response {
    use tracing::Instrument;
    let started = Instant::now();
    let id = app.request_id(req.headers());
    let origin = req.headers().get(ORIGIN).cloned();
    let origin_allowed = app.config.origin_allowed(req.headers());
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = app.mcp(&span, req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    crate::metrics::http_request(status);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(HEADER_REQUEST_ID), value);
    }
    if origin_allowed {
        app.cors_headers(origin.as_ref(), &mut response);
    }
    span.in_scope(|| {
        tracing::debug!(
            "{method} /mcp -> {status} in {} ms",
            started.elapsed().as_millis()
        )
    });
    response
}

/// RFC 9728 protected resource metadata for `/mcp`: OpenTrain's API is the authorization
/// server, and its scopes are the ones a token may carry.
async fn resource_metadata(State(app): State<Arc<App>>, req: Request) -> Response {
    if !app.config.host_allowed(req.headers(), req.uri()) {
        return text(
            StatusCode::FORBIDDEN,
            "forbidden: this Host is not served (see --allowed-hosts)\n",
        );
    }
    let authorization_server = app
        .server
        .config()
        .base_url_without_file()
        .map(|(url, _)| url.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| crate::config::DEFAULT_BASE_URL.to_owned());
    let document = serde_json::json!({
        "resource": format!("{}/mcp", app.base(req.headers())),
        "authorization_servers": [authorization_server],
        "scopes_supported": crate::api::SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_name": "OpenTrain (opentrain-mcp)",
        "resource_documentation": "https://github.com/opentrain-mcp/opentrain-mcp#remote-mode",
    });
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        document.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen("8080").unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(parse_listen(":0").unwrap().to_string(), "127.0.0.1:0");
        assert_eq!(
            parse_listen("localhost:9").unwrap().to_string(),
            "127.0.0.1:9"
        );
        assert_eq!(
            parse_listen("0.0.0.0:80").unwrap().to_string(),
            "0.0.0.0:80"
        );
        assert_eq!(parse_listen("[::1]:80").unwrap().to_string(), "[::1]:80");
        for bad in ["", "example.com:80", "99999", "1.2.3.4", ":x"] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_and_origins() {
        let flags = HttpFlags {
            listen: Some("0".into()),
            allowed_hosts: Some("mcp.example.com,other.example:8443".into()),
            allowed_origins: Some("https://app.example.com".into()),
            ..Default::default()
        };
        let config = flags.resolve(&env_none).unwrap();
        let uri = axum::http::Uri::from_static("/mcp");
        let host = |h: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(HOST, HeaderValue::from_static(h));
            config.host_allowed(&headers, &uri)
        };
        assert!(host("localhost:3000"));
        assert!(host("127.0.0.1"));
        assert!(host("[::1]:8080"));
        assert!(host("MCP.example.com"));
        assert!(host("other.example:8443"));
        assert!(!host("other.example:8444"));
        assert!(!host("evil.example"));
        let origin = |o: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(ORIGIN, HeaderValue::from_static(o));
            config.origin_allowed(&headers)
        };
        assert!(config.origin_allowed(&HeaderMap::new()));
        assert!(origin("http://localhost:5173"));
        assert!(origin("https://app.example.com"));
        assert!(origin("https://app.example.com:443"));
        assert!(!origin("https://app.example.com:8443"));
        assert!(!origin("http://app.example.com"));
        assert!(!origin("https://evil.example"));
        assert!(!origin("null"));
    }

    #[test]
    fn single_tenant_needs_loopback_or_a_secret() {
        let flags = HttpFlags {
            listen: Some("0.0.0.0:0".into()),
            single_tenant: true,
            ..Default::default()
        };
        assert!(flags.resolve(&env_none).unwrap_err().contains("loopback"));
        let secret = |k: &str| (k == ENV_CLIENT_SECRET).then(|| "s3cret-s3cret-s3cret".to_owned());
        assert!(flags.resolve(&secret).is_ok());
        let multi = HttpFlags {
            listen: Some("0".into()),
            ..Default::default()
        };
        assert!(multi.resolve(&secret).is_err());
        let loopback = HttpFlags {
            listen: Some("127.0.0.1:0".into()),
            single_tenant: true,
            ..Default::default()
        };
        assert!(loopback.resolve(&env_none).is_ok());
    }

    #[test]
    fn permits_are_counted_per_token() {
        let limiter = Arc::new(Limiter::new(2).unwrap());
        let a1 = limiter.acquire(b"ot_pat_a").unwrap();
        let _a2 = limiter.acquire(b"ot_pat_a").unwrap();
        assert!(limiter.acquire(b"ot_pat_a").is_none());
        let _b = limiter.acquire(b"ot_pat_b").unwrap();
        drop(a1);
        assert!(limiter.acquire(b"ot_pat_a").is_some());
        let map = limiter.in_flight.lock().unwrap();
        assert_eq!(map.len(), 2);
        for key in map.keys() {
            assert!(!key.windows(8).any(|w| w == b"ot_pat_a" || w == b"ot_pat_b"));
        }
    }
}
