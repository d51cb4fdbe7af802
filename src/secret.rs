//! Credentials in memory, and how they are shown when they must be shown at all.
//!
//! A [`Secret`] never prints itself: its `Debug` is the masked form (`ot_pat_…9f2c`) and it has
//! no `Display`. [`RedactingWriter`] is the last line of defence for logs: every line written to
//! stderr passes through it, so a token that some library decides to log at `trace` is masked
//! before it leaves the process.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::{Arc, RwLock};

/// Prefixes of the credentials OpenTrain issues. `ot_pat_` is the bearer token, `ot_clm_` the
/// claim token, `ot_cat_` the claim-attempt token inside a verification URL, `ot_ptk_` the
/// Platform API install token.
const PREFIXES: [&str; 4] = ["ot_pat_", "ot_clm_", "ot_cat_", "ot_ptk_"];

/// Prefixes masked in logs. `ot_cat_` appears in verification URLs the agent must relay, so tool
/// results pass it through, but nothing needs it in a log line.
const LOG_PREFIXES: [&str; 3] = ["ot_pat_", "ot_clm_", "ot_cat_"];

/// A credential held in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential, trimming the whitespace and newlines a paste often carries.
    /// Returns `None` for an empty value (an empty env var means "not set").
    pub fn new(value: &str) -> Option<Secret> {
        let value = value.trim();
        (!value.is_empty()).then(|| Secret(value.to_owned()))
    }

    /// The raw value, for the one place that must send it (a header or a request body).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value as it may be shown: known prefix, an ellipsis, the last four characters.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// Only the kind of credential: `ot_pat_…` (or `…` for an unknown kind).
    pub fn prefix(&self) -> String {
        let prefix = PREFIXES
            .iter()
            .find(|p| self.0.starts_with(*p))
            .copied()
            .unwrap_or("");
        format!("{prefix}…")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Masks a credential: `ot_pat_abcd…` becomes `ot_pat_…9f2c`. Short values show no characters
/// at all, so a mask never gives away a meaningful part of a secret.
pub fn mask(value: &str) -> String {
    let prefix = PREFIXES
        .iter()
        .find(|p| value.starts_with(*p))
        .copied()
        .unwrap_or("");
    let rest = &value[prefix.len()..];
    let count = rest.chars().count();
    if count >= 12 {
        let tail: String = rest.chars().skip(count - 4).collect();
        format!("{prefix}…{tail}")
    } else {
        format!("{prefix}…")
    }
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Masks every OpenTrain credential found in `text` (by prefix, not by value), for log output.
pub fn redact_credentials(text: &str) -> Cow<'_, str> {
    if !LOG_PREFIXES.iter().any(|p| text.contains(p)) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let hit = LOG_PREFIXES
            .iter()
            .find(|p| bytes[i..].starts_with(p.as_bytes()));
        match hit {
            Some(prefix) => {
                let start = i;
                let mut end = i + prefix.len();
                while end < bytes.len() && is_token_char(bytes[end]) {
                    end += 1;
                }
                if end == start + prefix.len() {
                    // A bare prefix (or one already masked, `ot_pat_…9f2c`) hides nothing.
                    i = end;
                    continue;
                }
                out.push_str(&text[copied..start]);
                out.push_str(&mask(&text[start..end]));
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Replaces every occurrence of each given secret in `text` by its masked form.
pub fn scrub_text(text: &str, secrets: &[&Secret]) -> Option<String> {
    // Most strings are shorter than a credential: no searcher is built for them.
    let mut found: Vec<&Secret> = secrets
        .iter()
        .copied()
        .filter(|s| text.len() >= s.expose().len() && text.contains(s.expose()))
        .collect();
    if found.is_empty() {
        return None;
    }
    // A secret that contains another is replaced first, so the shorter one cannot break it up.
    found.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
    let mut out = text.to_owned();
    for secret in found {
        out = out.replace(secret.expose(), &secret.masked());
    }
    Some(out)
}

/// [`scrub_text`] for a raw body: masks the given secrets in `bytes` (read as UTF-8, invalid
/// sequences replaced, only when a secret is actually found).
pub fn scrub_bytes(bytes: Vec<u8>, secrets: &[&Secret]) -> Vec<u8> {
    let clean = scrub_text(&String::from_utf8_lossy(&bytes), secrets);
    match clean {
        Some(clean) => clean.into_bytes(),
        None => bytes,
    }
}

/// Replaces the given secrets wherever they occur in the strings (keys and values) of a JSON value.
pub fn scrub_json(value: &mut serde_json::Value, secrets: &[&Secret]) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Some(clean) = scrub_text(s, secrets) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, secrets)),
        Value::Object(map) => {
            let needs_key_scrub = map.keys().any(|k| scrub_text(k, secrets).is_some());
            if needs_key_scrub {
                let old = std::mem::take(map);
                for (k, v) in old {
                    map.insert(scrub_text(&k, secrets).unwrap_or(k), v);
                }
            }
            map.values_mut().for_each(|v| scrub_json(v, secrets));
        }
        _ => {}
    }
}

/// Secrets shorter than this are not searched for in text: no real credential is that short, and
/// masking every occurrence of a few common characters would garble what an agent reads.
pub const MIN_MASKED_LEN: usize = 8;

/// How many credentials [`Known`] remembers; the oldest (after the first, the env token) go first.
const MAX_KNOWN: usize = 64;

/// Every credential this process knows: the env token, the tokens of the credentials file (each
/// version it read or wrote) and the tokens registration and claim delivered. Masked by value,
/// prefix or not, in every result, resource, prompt, log line and `doctor` line.
///
/// It holds only what the configuration knows. A credential that belongs to one call (a token
/// in an argument, or, over HTTP, the caller's own token) is passed along with that call as a
/// value and never stored here.
#[derive(Debug, Default)]
pub struct Known(RwLock<Arc<Vec<Secret>>>);

impl Known {
    /// Remembers a credential (once; too-short values are ignored).
    pub fn add(&self, secret: &Secret) {
        if secret.expose().chars().count() < MIN_MASKED_LEN {
            return;
        }
        let mut all = self.0.write().unwrap_or_else(|p| p.into_inner());
        if all.contains(secret) {
            return;
        }
        let mut next = Vec::clone(&all);
        if next.len() >= MAX_KNOWN {
            next.remove(1.min(next.len() - 1));
        }
        next.push(secret.clone());
        *all = Arc::new(next);
    }

    /// Every credential known now, to mask one result or message with (no copy is made).
    pub fn snapshot(&self) -> Arc<Vec<Secret>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `text` with every known credential masked, and every OpenTrain credential masked by its
    /// prefix (for log lines).
    pub fn redact_line<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let all = self.0.read().unwrap_or_else(|p| p.into_inner());
        let refs: Vec<&Secret> = all.iter().collect();
        match scrub_text(text, &refs) {
            Some(clean) => Cow::Owned(redact_credentials(&clean).into_owned()),
            None => redact_credentials(text),
        }
    }
}

/// A writer that masks credentials in what passes through it: every OpenTrain credential by its
/// prefix, and every credential in [`Known`] by value. tracing's fmt layer formats a whole event
/// and writes it with one call, so a token never straddles two writes.
pub struct RedactingWriter<W: Write> {
    inner: W,
    known: Option<Arc<Known>>,
}

impl<W: Write> RedactingWriter<W> {
    pub fn new(inner: W, known: Option<Arc<Known>>) -> RedactingWriter<W> {
        RedactingWriter { inner, known }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }

    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.known {
            Some(known) => known.redact_line(text),
            None => redact_credentials(text),
        }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = self.redact(&text).into_owned();
        self.inner.write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_prefix_and_last_four() {
        assert_eq!(mask("ot_pat_abcdef_0123456789f2c"), "ot_pat_…9f2c");
        assert_eq!(mask("ot_clm_zzzzzzzzzzzz1234"), "ot_clm_…1234");
        assert_eq!(mask("ot_pat_short"), "ot_pat_…");
        assert_eq!(mask("plainsecretvalue99"), "…ue99");
        assert_eq!(mask(""), "…");
    }

    #[test]
    fn secret_debug_is_masked_and_new_trims() {
        let s = Secret::new("  ot_pat_abcdefghijklmnop\n").unwrap();
        assert_eq!(s.expose(), "ot_pat_abcdefghijklmnop");
        assert_eq!(format!("{s:?}"), "ot_pat_…mnop");
        assert!(Secret::new("   ").is_none());
    }

    #[test]
    fn redacts_every_credential_in_a_line() {
        let line = "sent Bearer ot_pat_pub_secretsecret99 and {\"claim_token\":\"ot_clm_abcdefghijkl7777\"}";
        let out = redact_credentials(line);
        assert!(!out.contains("secretsecret"));
        assert!(!out.contains("abcdefghijkl"));
        assert!(out.contains("ot_pat_…et99"));
        assert!(out.contains("ot_clm_…7777"));
        assert!(matches!(
            redact_credentials("nothing here"),
            Cow::Borrowed(_)
        ));
        // Masking twice changes nothing.
        assert_eq!(out, redact_credentials(&out));
        assert_eq!(redact_credentials("see ot_pat_…9f2c"), "see ot_pat_…9f2c");
    }

    #[test]
    fn scrub_replaces_exact_values_only() {
        let s = Secret::new("ot_pat_exactvalue12345").unwrap();
        let mut v = serde_json::json!({"a": "token ot_pat_exactvalue12345 here", "b": ["ot_pat_c3f9********bd21"]});
        scrub_json(&mut v, &[&s]);
        assert_eq!(v["a"], "token ot_pat_…2345 here");
        assert_eq!(v["b"][0], "ot_pat_c3f9********bd21");
    }

    #[test]
    fn writer_redacts() {
        let mut w = RedactingWriter::new(Vec::new(), None);
        w.write_all(b"x ot_clm_abcdefghijklmnop y").unwrap();
        assert_eq!(
            String::from_utf8(w.into_inner()).unwrap(),
            "x ot_clm_…mnop y"
        );
        // Known credentials are masked whatever their shape.
        let known = Arc::new(Known::default());
        known.add(&Secret::new("plainSecretValue1234").unwrap());
        known.add(&Secret::new("short").unwrap());
        let mut w = RedactingWriter::new(Vec::new(), Some(known.clone()));
        w.write_all(b"a plainSecretValue1234 b short").unwrap();
        assert_eq!(
            String::from_utf8(w.into_inner()).unwrap(),
            "a …1234 b short"
        );
        assert_eq!(known.snapshot().len(), 1);
    }
}
