//! Every way a call can fail, as one type. HTTP failures keep the status and the body exactly as
//! received (the `/v1` envelope, the agent-auth OAuth shape, or text), so the result layer can
//! show the agent what the API said.

use std::time::Duration;

use serde_json::Value;

use crate::config::ConfigError;

/// Non-JSON bodies are cut to this many characters before anything shows them.
pub const TEXT_LIMIT: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with a non-2xx status.
    #[error("HTTP {status}")]
    Http {
        status: u16,
        body: ErrorBody,
        /// Seconds from `Retry-After`, when the answer carried one.
        retry_after: Option<u64>,
    },
    #[error("the request timed out after {} s", .0.as_secs())]
    Timeout(Duration),
    /// The connection could not be established (DNS, refused, TLS); nothing was sent.
    #[error("could not connect to {host}: {message}")]
    Connect { host: String, message: String },
    /// The connection broke after it was established.
    #[error("the connection failed: {0}")]
    Transport(String),
    #[error("the response was larger than {} MiB and was discarded", .limit / (1024 * 1024))]
    TooLarge { limit: usize },
    #[error("the API answered {status} with a redirect to {location}, which is not followed")]
    Redirect { status: u16, location: String },
    /// A 2xx whose body is not JSON.
    #[error("the API answered {status} with a body that is not JSON: {excerpt}")]
    NotJson { status: u16, excerpt: String },
    #[error("no OpenTrain token is configured")]
    NoToken,
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    InvalidArgument(String),
}

impl ApiError {
    /// Whether nothing reached the server, so even a write may be retried.
    pub fn never_sent(&self) -> bool {
        matches!(self, ApiError::Connect { .. })
    }
}

/// An error body as received.
#[derive(Clone, Debug, PartialEq)]
pub enum ErrorBody {
    /// `{error, code, requestId, details}` from `/api/public/v1`.
    Envelope(Value),
    /// `{error, error_description?}` from `/api/agent`.
    OAuth(Value),
    /// Some other JSON.
    Json(Value),
    /// Not JSON (an HTML error page from a proxy, plain text); tags stripped, cut to 300 chars.
    Text(String),
}

impl ErrorBody {
    /// Classifies a body by its shape.
    pub fn parse(bytes: &[u8]) -> ErrorBody {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => {
                let has_str = |k: &str| value.get(k).is_some_and(Value::is_string);
                if has_str("code") && value.get("error").is_some() {
                    ErrorBody::Envelope(value)
                } else if has_str("error") {
                    ErrorBody::OAuth(value)
                } else {
                    ErrorBody::Json(value)
                }
            }
            Err(_) => ErrorBody::Text(excerpt(bytes)),
        }
    }

    /// The body as it goes into `structuredContent.error`.
    pub fn as_json(&self) -> Value {
        match self {
            ErrorBody::Envelope(v) | ErrorBody::OAuth(v) | ErrorBody::Json(v) => v.clone(),
            ErrorBody::Text(t) => Value::String(t.clone()),
        }
    }

    fn str_at(&self, pointer: &str) -> Option<&str> {
        match self {
            ErrorBody::Envelope(v) | ErrorBody::OAuth(v) | ErrorBody::Json(v) => {
                v.pointer(pointer).and_then(Value::as_str)
            }
            ErrorBody::Text(_) => None,
        }
    }

    /// The envelope's `code` (e.g. `FORBIDDEN`).
    pub fn code(&self) -> Option<&str> {
        match self {
            ErrorBody::Envelope(_) => self.str_at("/code"),
            _ => None,
        }
    }

    /// The OAuth `error` (e.g. `authorization_pending`).
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            ErrorBody::OAuth(_) => self.str_at("/error"),
            _ => None,
        }
    }

    /// The human-readable message: the envelope's `error`, the OAuth `error_description`, or
    /// the text.
    pub fn message(&self) -> Option<&str> {
        match self {
            ErrorBody::Envelope(_) => self.str_at("/error"),
            ErrorBody::OAuth(_) => self.str_at("/error_description"),
            ErrorBody::Json(_) => self.str_at("/error").or_else(|| self.str_at("/message")),
            ErrorBody::Text(t) => Some(t.as_str()).filter(|t| !t.is_empty()),
        }
    }

    pub fn reason(&self) -> Option<&str> {
        self.str_at("/details/reason")
    }

    pub fn request_id(&self) -> Option<&str> {
        self.str_at("/requestId")
    }

    pub fn details(&self) -> Option<&Value> {
        match self {
            ErrorBody::Envelope(v) | ErrorBody::Json(v) => v.get("details"),
            _ => None,
        }
    }
}

/// A short, tag-free, single-line excerpt of a non-JSON body.
pub fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut plain = String::with_capacity(text.len().min(4096));
    let mut in_tag = false;
    let mut in_skipped = false; // inside <script> or <style>
    let lower = text.to_ascii_lowercase();
    let mut i = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    while i < chars.len() {
        let (at, c) = chars[i];
        if c == '<' {
            let rest = &lower[at..];
            if rest.starts_with("<script") || rest.starts_with("<style") {
                in_skipped = true;
            } else if rest.starts_with("</script") || rest.starts_with("</style") {
                in_skipped = false;
            }
            in_tag = true;
        } else if c == '>' && in_tag {
            in_tag = false;
            plain.push(' ');
        } else if !in_tag && !in_skipped {
            plain.push(if c.is_control() { ' ' } else { c });
        }
        i += 1;
        if plain.len() > 4 * TEXT_LIMIT {
            break;
        }
    }
    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_chars(&collapsed, TEXT_LIMIT)
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_the_three_shapes() {
        let env = ErrorBody::parse(
            br#"{"error":"Claim first","code":"FORBIDDEN","requestId":"r1","details":{"reason":"account_claim_required","claimUrl":"https://app.opentrain.ai/claim"}}"#,
        );
        assert_eq!(env.code(), Some("FORBIDDEN"));
        assert_eq!(env.reason(), Some("account_claim_required"));
        assert_eq!(env.request_id(), Some("r1"));
        assert_eq!(env.message(), Some("Claim first"));

        let oauth = ErrorBody::parse(br#"{"error":"slow_down","error_description":"too fast"}"#);
        assert_eq!(oauth.oauth_error(), Some("slow_down"));
        assert_eq!(oauth.message(), Some("too fast"));
        assert_eq!(oauth.code(), None);

        let bare = ErrorBody::parse(br#"{"error":"anonymous_not_enabled"}"#);
        assert_eq!(bare.oauth_error(), Some("anonymous_not_enabled"));
        assert_eq!(bare.message(), None);

        let other = ErrorBody::parse(br#"{"id":"j1","status":"closed"}"#);
        assert_eq!(other, ErrorBody::Json(json!({"id":"j1","status":"closed"})));
    }

    #[test]
    fn html_is_reduced_to_text() {
        let page = b"<html><head><title>502 Bad Gateway</title><style>body{x:y}</style></head>\
            <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
        let body = ErrorBody::parse(page);
        assert_eq!(
            body,
            ErrorBody::Text("502 Bad Gateway 502 Bad Gateway nginx".into())
        );
        let long = ErrorBody::parse("x".repeat(5000).as_bytes());
        assert_eq!(long.message().unwrap().chars().count(), TEXT_LIMIT + 1);
        assert_eq!(ErrorBody::parse(b"").message(), None);
    }
}
