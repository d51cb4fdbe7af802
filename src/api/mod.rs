//! The one HTTP client: sends a [`Request`], applies the retry policy and the time budget, caps
//! the body size, decodes JSON and turns every failure into an [`ApiError`].
//!
//! Retry policy (from the official CLI): a GET is tried up to 3 times on 502/503/504 and on
//! connection failures, waiting 500 ms then 1 s; any other method is retried only when the
//! connection was never established, so a write is never duplicated. A 429 on a GET whose
//! `Retry-After` is at most 5 s is waited out and tried once more; any other 429 is returned at
//! once. The whole call, retries included, ends at the timeout (`OPENTRAIN_HTTP_TIMEOUT_SECS`,
//! default 30 s), so an agent never waits past it.

pub mod budget;
pub mod error;
pub mod request;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER};
use serde_json::Value;
use url::Url;

pub use error::{ApiError, ErrorBody};
pub use request::{Api, Auth, Body, Request};

use crate::secret::{self, Secret};
use crate::shape;

/// Every scope of OpenTrain's API (the tokens reference), for the RFC 9728 metadata of remote
/// mode and the sandbox's tokens.
pub const SCOPES: [&str; 11] = [
    "jobs:read",
    "jobs:write",
    "proposals:read",
    "proposals:write",
    "messages:read",
    "messages:write",
    "payments:read",
    "payments:write",
    "team:read",
    "team:write",
    "webhooks:manage",
];

pub const USER_AGENT: &str = concat!("opentrain-mcp/", env!("CARGO_PKG_VERSION"));
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Bodies larger than this are discarded.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Waits before the second and third attempt.
const BACKOFF: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(1)];
const MAX_ATTEMPTS: u32 = 3;
/// Redirects a read follows at most.
const MAX_REDIRECTS: u32 = 5;
/// A 429 asking for at most this long is waited out (once, GET only).
const MAX_RATE_LIMIT_WAIT: u64 = 5;

/// A 2xx answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub status: u16,
    /// The JSON object (`{}` when the body was empty).
    pub body: Value,
}

pub struct Client {
    http: OnceLock<reqwest::Client>,
    timeout: Duration,
    /// Never through a proxy (the sandbox on loopback).
    direct: bool,
    /// The memory answers may take, one by one and together.
    budget: budget::Budget,
}

impl Client {
    pub fn new(timeout: Duration) -> Client {
        Client {
            http: OnceLock::new(),
            timeout,
            direct: false,
            budget: budget::Budget::default(),
        }
    }

    /// A client that never uses a proxy, for an API on this machine (the sandbox): a loopback
    /// request sent to a proxy would leave it.
    pub fn direct(timeout: Duration) -> Client {
        Client {
            direct: true,
            ..Client::new(timeout)
        }
    }

    pub fn budget(&self) -> &budget::Budget {
        &self.budget
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The reqwest client, built on first use: loading the OS certificate store costs
    /// milliseconds that a server answering `tools/list` need not pay.
    fn http(&self) -> Result<&reqwest::Client, ApiError> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = build_http(self.timeout, self.direct).map_err(ApiError::Transport)?;
        Ok(self.http.get_or_init(|| client))
    }

    /// Sends `req` to `base` with `token` (required when the request says `Auth::Bearer`).
    /// Every credential in `mask` (what the configuration knows), the token and the request's own
    /// secrets are masked in the answer, whether or not this request sent them.
    pub async fn send(
        &self,
        base: &Url,
        req: &Request,
        token: Option<&Secret>,
        mask: &[Secret],
    ) -> Result<Response, ApiError> {
        let token = match req.auth {
            Auth::Bearer => Some(token.ok_or(ApiError::NoToken)?),
            Auth::None => None,
        };
        let http = self.http()?;
        let url = req.url(base);
        // The API's own path on this base: `{base path}/api/public/v1` or `{base path}/api/agent`.
        let prefix = format!("{}{}", base.path().trim_end_matches('/'), req.api.prefix());
        let deadline = Instant::now() + self.timeout;
        let mut scrub: Vec<&Secret> = req.secrets.iter().collect();
        scrub.extend(token);
        scrub.extend(mask);

        let mut attempt = 1;
        let mut waited_for_rate_limit = false;
        loop {
            let started = Instant::now();
            let remaining = deadline.saturating_duration_since(started);
            let result = match tokio::time::timeout(
                remaining,
                self.attempt(http, &url, &prefix, req, token, &scrub),
            )
            .await
            {
                Ok(result) => result,
                Err(_) => Err(ApiError::Timeout(self.timeout)),
            };
            crate::metrics::api_attempt(result.as_ref().map(|r| r.status));
            tracing::debug!(
                "{} (attempt {attempt}) -> {} in {} ms",
                req.describe(),
                match &result {
                    Ok(r) => r.status.to_string(),
                    Err(ApiError::Http { status, .. }) => status.to_string(),
                    Err(e) => e.to_string(),
                },
                started.elapsed().as_millis()
            );
            let Err(error) = &result else {
                return result;
            };
            let delay = match retry_delay(&req.method, error, attempt, waited_for_rate_limit) {
                Some(Retry::Backoff(d)) => {
                    attempt += 1;
                    d
                }
                Some(Retry::RateLimit(d)) => {
                    waited_for_rate_limit = true;
                    d
                }
                None => return result,
            };
            if Instant::now() + delay >= deadline {
                return result;
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt: the request, and the redirects a read may follow (see [`redirect_target`]).
    async fn attempt(
        &self,
        http: &reqwest::Client,
        url: &Url,
        prefix: &str,
        req: &Request,
        token: Option<&Secret>,
        scrub: &[&Secret],
    ) -> Result<Response, ApiError> {
        let mut url = url.clone();
        let mut hops = 0;
        let mut response = loop {
            // The token goes only to the API's own public path, wherever a redirect points.
            let token = token.filter(|_| req.api == Api::Public && within(&url, prefix));
            let response = self
                .request(http, &url, req, token)?
                .send()
                .await
                .map_err(|e| transport_error(&url, e))?;
            if !response.status().is_redirection() {
                break response;
            }
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(no location)");
            if hops < MAX_REDIRECTS
                && let Some(next) = redirect_target(&url, location, prefix, &req.method)
            {
                hops += 1;
                url = next;
                continue;
            }
            // The location is upstream text too: cut, and never echoing a credential.
            let location = secret::scrub_text(location, scrub).unwrap_or_else(|| location.into());
            return Err(ApiError::Redirect {
                status,
                location: crate::text::truncate_chars(&location, error::TEXT_LIMIT),
                write: req.method != Method::GET,
            });
        };
        self.read_answer(&mut response, &url, req, token, scrub)
            .await
    }

    /// The request for one hop: method, headers, the bearer token when given, the body.
    fn request(
        &self,
        http: &reqwest::Client,
        url: &Url,
        req: &Request,
        token: Option<&Secret>,
    ) -> Result<reqwest::RequestBuilder, ApiError> {
        let mut builder = http
            .request(req.method.clone(), url.clone())
            .header(ACCEPT, "application/json");
        if let Some(token) = token {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    ApiError::InvalidArgument(
                        "the configured token contains characters that cannot be sent in a header"
                            .into(),
                    )
                })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        builder = match &req.body {
            Body::None => builder,
            Body::Json(bytes) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Form(text) => builder
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(text.clone()),
        };
        Ok(builder)
    }

    /// Reads, caps, masks and decodes an answer that is not a redirect.
    async fn read_answer(
        &self,
        response: &mut reqwest::Response,
        url: &Url,
        req: &Request,
        token: Option<&Secret>,
        scrub: &[&Secret],
    ) -> Result<Response, ApiError> {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(ApiError::TooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        // A large body waits for one of the few large-body reader slots (see `budget`).
        let length = response.content_length().unwrap_or(0) as usize;
        let mut reader = None;
        if length > budget::SMALL_BODY {
            reader = Some(self.budget.large_reader().await);
        }
        let mut bytes = Vec::with_capacity(length.min(MAX_BODY_BYTES));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(url, e))?
        {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::TooLarge {
                    limit: MAX_BODY_BYTES,
                });
            }
            if reader.is_none() && bytes.len() + chunk.len() > budget::SMALL_BODY {
                reader = Some(self.budget.large_reader().await);
            }
            bytes.extend_from_slice(&chunk);
        }
        // Counted before any tree is built: many small values parse into far more memory than
        // their text takes.
        let shape = shape::measure(&bytes, budget::MAX_ANSWER_VALUES, shape::MAX_DEPTH);
        let success = (200..300).contains(&status);
        // An answer that delivers credentials must reach its tool unmasked, so the tool can save
        // them: only this request's own secrets are masked in it here (the dispatch masks the
        // result). Everywhere else every credential we know is masked.
        let own = req.secrets.len() + usize::from(token.is_some());
        let body_scrub = if success && req.delivers_credentials {
            &scrub[..own]
        } else {
            scrub
        };
        // Mask our credentials in the raw text before anything parses or cuts it, so an echoed
        // token is never shown, not even half of it at the end of an excerpt.
        let bytes = secret::scrub_bytes(bytes, body_scrub);
        let excerpt = |bytes: &[u8]| error::excerpt(&secret::scrub_bytes(bytes.to_vec(), scrub));

        if success {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Response {
                    status,
                    body: Value::Object(Default::default()),
                });
            }
            let values = shape.map_err(|too_big| ApiError::TooComplex {
                status,
                what: too_big.to_string(),
            })?;
            // Room for the tree, held until the answer has been written to the client.
            let hold = self
                .budget
                .tree(budget::estimate(bytes.len(), values))
                .await;
            let mut body: Value =
                serde_json::from_slice(&bytes).map_err(|_| ApiError::NotJson {
                    status,
                    excerpt: excerpt(&bytes),
                })?;
            drop(reader);
            // Every documented answer is an object, and a result's structuredContent must be one.
            if !body.is_object() {
                return Err(ApiError::NotAnObject {
                    status,
                    excerpt: excerpt(&bytes),
                });
            }
            secret::scrub_json(&mut body, body_scrub);
            budget::keep(hold);
            return Ok(Response { status, body });
        }
        // An error body is cut to a few KiB once parsed; the room to parse it is given back then.
        let mut body = match shape {
            Ok(values) => {
                let _hold = self
                    .budget
                    .tree(budget::estimate(bytes.len(), values))
                    .await;
                ErrorBody::parse(&bytes)
            }
            Err(_) => ErrorBody::Text(error::excerpt(&bytes)),
        };
        // A credential written with JSON escapes only shows once parsed.
        if let ErrorBody::Envelope(v) | ErrorBody::OAuth(v) | ErrorBody::Json(v) = &mut body {
            secret::scrub_json(v, scrub);
        }
        Err(ApiError::Http {
            status,
            body,
            retry_after,
        })
    }
}

/// Why and how long to wait before trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// A transient failure: counts as an attempt.
    Backoff(Duration),
    /// A short 429 on a GET: waited out once.
    RateLimit(Duration),
}

/// The retry policy, as a pure function of the method, the failure and the attempt number.
pub fn retry_delay(
    method: &Method,
    error: &ApiError,
    attempt: u32,
    waited_for_rate_limit: bool,
) -> Option<Retry> {
    let is_get = *method == Method::GET;
    if let ApiError::Http {
        status: 429,
        retry_after,
        ..
    } = error
    {
        return match retry_after {
            Some(secs) if is_get && !waited_for_rate_limit && *secs <= MAX_RATE_LIMIT_WAIT => {
                Some(Retry::RateLimit(Duration::from_secs(*secs)))
            }
            _ => None,
        };
    }
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let transient = match error {
        ApiError::Connect { .. } => true,
        ApiError::Http { status, .. } => is_get && matches!(status, 502..=504),
        ApiError::Transport(_) | ApiError::Timeout(_) => is_get,
        _ => false,
    };
    transient.then(|| Retry::Backoff(BACKOFF[(attempt - 1) as usize]))
}

/// Whether `url`'s path is `prefix` or below it.
fn within(url: &Url, prefix: &str) -> bool {
    url.path()
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Where a redirect may be followed to: only a read (GET) is ever redirected, only on the same
/// origin and only inside the API's own path (`prefix`, after `.`/`..` and their encoded forms
/// are resolved). Anything else is an error for the tool, never a success.
pub fn redirect_target(
    current: &Url,
    location: &str,
    prefix: &str,
    method: &Method,
) -> Option<Url> {
    if *method != Method::GET {
        return None;
    }
    let next = current.join(location.trim()).ok()?;
    (next.origin() == current.origin() && within(&next, prefix)).then_some(next)
}

fn transport_error(url: &Url, e: reqwest::Error) -> ApiError {
    let host = url.host_str().unwrap_or("the API").to_owned();
    let message = describe_reqwest_error(&e);
    if e.is_timeout() {
        // A connect timeout is a connection that never got established.
        if e.is_connect() {
            return ApiError::Connect { host, message };
        }
        return ApiError::Transport(message);
    }
    if e.is_connect() {
        return ApiError::Connect { host, message };
    }
    ApiError::Transport(message)
}

/// The error and its causes in one line, without the URL.
fn describe_reqwest_error(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    parts.join(": ")
}

fn build_http(timeout: Duration, direct: bool) -> Result<reqwest::Client, String> {
    // reqwest is built without a default crypto provider; ring is smaller than aws-lc.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = if direct {
        reqwest::Client::builder().no_proxy()
    } else {
        reqwest::Client::builder()
    };
    builder
        .user_agent(USER_AGENT)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        // Redirects are decided per request in `Client::attempt` (see `redirect_target`).
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| {
            format!(
                "could not start the HTTP client: {}",
                describe_reqwest_error(&e)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry_after: Option<u64>) -> ApiError {
        ApiError::Http {
            status,
            body: ErrorBody::Text(String::new()),
            retry_after,
        }
    }

    #[test]
    fn get_retries_gateway_errors_twice() {
        let get = Method::GET;
        assert_eq!(
            retry_delay(&get, &http(503, None), 1, false),
            Some(Retry::Backoff(Duration::from_millis(500)))
        );
        assert_eq!(
            retry_delay(&get, &http(502, None), 2, false),
            Some(Retry::Backoff(Duration::from_secs(1)))
        );
        assert_eq!(retry_delay(&get, &http(504, None), 3, false), None);
        assert_eq!(retry_delay(&get, &http(500, None), 1, false), None);
        assert_eq!(retry_delay(&get, &http(404, None), 1, false), None);
    }

    #[test]
    fn writes_retry_only_unsent_requests() {
        let connect = ApiError::Connect {
            host: "h".into(),
            message: "refused".into(),
        };
        for m in [Method::POST, Method::PATCH, Method::DELETE] {
            assert_eq!(retry_delay(&m, &http(503, None), 1, false), None);
            assert_eq!(
                retry_delay(&m, &ApiError::Transport("reset".into()), 1, false),
                None
            );
            assert_eq!(
                retry_delay(&m, &ApiError::Timeout(DEFAULT_TIMEOUT), 1, false),
                None
            );
            assert!(retry_delay(&m, &connect, 1, false).is_some());
        }
    }

    #[test]
    fn rate_limits() {
        let get = Method::GET;
        assert_eq!(
            retry_delay(&get, &http(429, Some(2)), 1, false),
            Some(Retry::RateLimit(Duration::from_secs(2)))
        );
        assert_eq!(retry_delay(&get, &http(429, Some(2)), 1, true), None);
        assert_eq!(retry_delay(&get, &http(429, Some(6)), 1, false), None);
        assert_eq!(retry_delay(&get, &http(429, None), 1, false), None);
        assert_eq!(
            retry_delay(&Method::POST, &http(429, Some(1)), 1, false),
            None
        );
    }
}
