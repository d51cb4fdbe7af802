//! A request as data: method, path template, ids, query, body and auth kind. Tools build these;
//! [`super::Client`] sends them. Building a request never fails and never touches the network.

use std::borrow::Cow;
use std::fmt::{self, Display, Write as _};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde::Serialize;
use url::Url;

use crate::secret::{Secret, redact_credentials, scrub_text};
use crate::validate::Id;

/// Everything but RFC 3986 unreserved characters is encoded, in path segments and query values
/// alike: `/`, `?`, `#`, `%`, `&`, `=`, `+` and spaces can never change a request's shape.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Which family of endpoints a request targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `/api/public/v1/...`: the error envelope `{error, code, requestId, details}`.
    Public,
    /// `/api/agent/...`: OAuth-shaped errors `{error, error_description}`; never a bearer token.
    Agent,
}

impl Api {
    /// The path every endpoint of this family lives under.
    pub fn prefix(self) -> &'static str {
        match self {
            Api::Public => "/api/public/v1",
            Api::Agent => "/api/agent",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`; the call is refused locally when there is no token.
    Bearer,
    /// No `Authorization` header at all.
    None,
}

#[derive(Clone, PartialEq)]
pub enum Body {
    None,
    Json(Vec<u8>),
    Form(String),
}

impl Body {
    /// The body as text, for `Debug`.
    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Body::None => None,
            Body::Json(bytes) => Some(String::from_utf8_lossy(bytes)),
            Body::Form(text) => Some(Cow::Borrowed(text)),
        }
    }
}

/// Shows the body as text with every OpenTrain credential masked (a claim token travels in one).
impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Body::None => return f.write_str("None"),
            Body::Json(_) => "Json",
            Body::Form(_) => "Form",
        };
        let text = self.text().unwrap_or_default();
        f.debug_tuple(name)
            .field(&redact_credentials(&text))
            .finish()
    }
}

#[derive(Clone)]
pub struct Request {
    pub method: Method,
    pub api: Api,
    pub auth: Auth,
    /// The path as the docs write it, e.g. `/jobs/{jobId}/publish`.
    pub template: &'static str,
    pub ids: Vec<(&'static str, Id)>,
    pub query: Vec<(&'static str, String)>,
    pub body: Body,
    /// Credentials placed in the body (a claim token): masked wherever an answer echoes them.
    pub secrets: Vec<Secret>,
    /// The answer delivers credentials the tool must save (registration, the claim exchange).
    pub delivers_credentials: bool,
}

/// Like a derived `Debug`, except that the body shows the request's secrets (whatever their
/// shape) and every OpenTrain credential masked.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = self.body.text().map(|text| {
            let secrets: Vec<&Secret> = self.secrets.iter().collect();
            let text = scrub_text(&text, &secrets).unwrap_or_else(|| text.into_owned());
            redact_credentials(&text).into_owned()
        });
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("api", &self.api)
            .field("auth", &self.auth)
            .field("template", &self.template)
            .field("ids", &self.ids)
            .field("query", &self.query)
            .field("body", &body)
            .field("secrets", &self.secrets)
            .field("delivers_credentials", &self.delivers_credentials)
            .finish()
    }
}

impl Request {
    fn new(method: Method, api: Api, template: &'static str) -> Request {
        Request {
            method,
            api,
            auth: match api {
                Api::Public => Auth::Bearer,
                Api::Agent => Auth::None,
            },
            template,
            ids: Vec::new(),
            query: Vec::new(),
            body: Body::None,
            secrets: Vec::new(),
            delivers_credentials: false,
        }
    }

    /// `GET /api/public/v1{template}` with the bearer token.
    pub fn get(template: &'static str) -> Request {
        Request::new(Method::GET, Api::Public, template)
    }
    pub fn post(template: &'static str) -> Request {
        Request::new(Method::POST, Api::Public, template)
    }
    pub fn patch(template: &'static str) -> Request {
        Request::new(Method::PATCH, Api::Public, template)
    }
    pub fn delete(template: &'static str) -> Request {
        Request::new(Method::DELETE, Api::Public, template)
    }
    /// `POST /api/agent{template}`, never with a bearer token.
    pub fn agent_post(template: &'static str) -> Request {
        Request::new(Method::POST, Api::Agent, template)
    }

    /// A public endpoint that needs no token (marketplace search). None is sent even when one is
    /// configured: a credential goes only where it is needed.
    pub fn without_token(mut self) -> Request {
        self.auth = Auth::None;
        self
    }

    /// Fills `{name}` in the template with one percent-encoded path segment.
    pub fn id(mut self, name: &'static str, id: &Id) -> Request {
        self.ids.push((name, id.clone()));
        self
    }

    /// Adds `name=value` when the value is given and not blank (an empty or whitespace-only
    /// value counts as not given, for every parameter alike). The value is what serde makes
    /// of it, so an enum goes out under the same name its schema shows; numbers and booleans
    /// (`true`/`false`) as JSON writes them.
    pub fn query(mut self, name: &'static str, value: Option<impl Serialize>) -> Request {
        let text = value.and_then(|v| match serde_json::to_value(v) {
            Ok(serde_json::Value::String(s)) => Some(s),
            Ok(serde_json::Value::Number(n)) => Some(n.to_string()),
            Ok(serde_json::Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        });
        if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
            self.query.push((name, text));
        }
        self
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json(mut self, body: &impl Serialize) -> Request {
        // Serializing our own argument types cannot fail (string keys, finite numbers).
        self.body = Body::Json(serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()));
        self
    }

    /// A form body (`Content-Type: application/x-www-form-urlencoded`).
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Request {
        let mut out = String::new();
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            let _ = write!(out, "{}={}", encode(k), encode(v));
        }
        self.body = Body::Form(out);
        self
    }

    /// Marks an endpoint whose answer delivers credentials to save: the credentials this process
    /// already knows are not masked in its answer before the tool has read it.
    pub fn delivering_credentials(mut self) -> Request {
        self.delivers_credentials = true;
        self
    }

    /// Marks a credential that travels in the body, so it is masked if an answer echoes it.
    pub fn secret(mut self, secret: &Secret) -> Request {
        self.secrets.push(secret.clone());
        self
    }

    /// The path after the origin, e.g. `/api/public/v1/jobs/job%2F1/publish`. An id that the
    /// template does not name, or a `{name}` without an id, is a programming error caught by the
    /// tests of every tool; it renders as `_` rather than panicking.
    pub fn path(&self) -> String {
        let mut path = String::from(self.api.prefix());
        for segment in self.template.split('/').filter(|s| !s.is_empty()) {
            path.push('/');
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match self.ids.iter().find(|(n, _)| *n == name) {
                    Some((_, id)) => path.extend(utf8_percent_encode(id.as_str(), STRICT)),
                    None => {
                        debug_assert!(false, "no id for {{{name}}} in {}", self.template);
                        path.push('_');
                    }
                },
                None => path.push_str(segment),
            }
        }
        path
    }

    /// The encoded query string without `?`, empty when there is none.
    pub fn query_string(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.query.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            let _ = write!(out, "{}={}", encode(k), encode(v));
        }
        out
    }

    /// The full URL on the given base (origin plus an optional path prefix).
    pub fn url(&self, base: &Url) -> Url {
        let mut url = base.clone();
        let prefix = base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{}", self.path()));
        let query = self.query_string();
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        url
    }

    /// `METHOD /path` for logs: no query values, no body, no headers.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path())
    }
}

fn encode(text: &str) -> impl Display + '_ {
    utf8_percent_encode(text, STRICT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap()
    }

    #[test]
    fn ids_are_single_segments() {
        let base = Url::parse("https://app.opentrain.ai").unwrap();
        for (raw, encoded) in [
            ("../tokens", "..%2Ftokens"),
            ("a/../../tokens", "a%2F..%2F..%2Ftokens"),
            ("x?y=1", "x%3Fy%3D1"),
            ("x#y", "x%23y"),
            ("%2e%2e", "%252e%252e"),
            ("job 1", "job%201"),
            ("é", "%C3%A9"),
        ] {
            let r = Request::post("/jobs/{jobId}/publish").id("jobId", &id(raw));
            assert_eq!(r.path(), format!("/api/public/v1/jobs/{encoded}/publish"));
            let url = r.url(&base);
            assert_eq!(url.path(), format!("/api/public/v1/jobs/{encoded}/publish"));
            assert_eq!(url.query(), None);
        }
    }

    #[test]
    fn query_values_are_encoded_and_optional() {
        let r = Request::get("/jobs")
            .query("q", Some("a&limit=999 #x+y"))
            .query("limit", None::<u32>)
            .query("cursor", Some(""))
            .query("unreadOnly", Some(true));
        assert_eq!(
            r.query_string(),
            "q=a%26limit%3D999%20%23x%2By&unreadOnly=true"
        );
        let url = r.url(&Url::parse("https://h").unwrap());
        let pairs: Vec<_> = url.query_pairs().collect();
        assert_eq!(pairs[0].1, "a&limit=999 #x+y");
    }

    #[test]
    fn base_prefix_and_agent_paths() {
        let base = Url::parse("http://127.0.0.1:3000/prefix").unwrap();
        let r = Request::agent_post("/oauth/token");
        assert_eq!(r.auth, Auth::None);
        assert_eq!(
            r.url(&base).as_str(),
            "http://127.0.0.1:3000/prefix/api/agent/oauth/token"
        );
        let form = r.form(&[("grant_type", "urn:a:b"), ("claim_token", "ot_clm_x y")]);
        assert_eq!(
            form.body,
            Body::Form("grant_type=urn%3Aa%3Ab&claim_token=ot_clm_x%20y".into())
        );
    }
}
