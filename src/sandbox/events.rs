//! Events: what `/updates` lists and what webhooks receive, the same record for both.
//!
//! `emit` appends an event and queues one delivery per active subscription of the account that
//! asked for its type. The delivery worker (one per process; a delivery is claimed in a
//! transaction, so two servers on one directory never both send it) POSTs the record to loopback
//! URLs only, signed `X-OpenTrain-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>`, and retries a failure after 1, 5, 30 and 120 minutes of sandbox time (five
//! attempts in all); ten failures in a row disable the subscription.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::clock::{self, MINUTE};
use super::store::{Store, Tx};

/// The eight event types and the scope each needs.
pub const TYPES: &[(&str, &str)] = &[
    ("proposal.received", "proposals:read"),
    ("proposal.status_changed", "proposals:read"),
    ("message.received", "messages:read"),
    ("contract.created", "payments:read"),
    ("milestone.status_changed", "payments:read"),
    ("payment.pending", "payments:read"),
    ("approval.confirmed", "payments:read"),
    ("contract.budget_state_changed", "payments:read"),
];

pub fn scope_of(kind: &str) -> Option<&'static str> {
    TYPES.iter().find(|(t, _)| *t == kind).map(|(_, s)| *s)
}

/// Waits after a failed attempt: attempt 1 failed → 1 min, … (five attempts in all).
const BACKOFF_MINUTES: [i64; 4] = [1, 5, 30, 120];
const DISABLE_AFTER: u64 = 10;

/// Appends an event for `account` and queues its webhook deliveries.
pub fn emit(
    tx: &Tx,
    account: &str,
    kind: &str,
    resource_id: &str,
    job_id: Option<&str>,
    data: Value,
) -> rusqlite::Result<i64> {
    let record = json!({
        "type": kind,
        "apiVersion": "v1",
        "createdAt": clock::iso(tx.now),
        "resourceId": resource_id,
        "jobId": job_id,
        "data": data,
    });
    let id = tx.insert_event(account, kind, &record)?;
    for hook in tx.list("webhooks", "account", account)? {
        let subscribed = hook["eventTypes"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == kind));
        if hook["status"] != "ACTIVE" || !subscribed {
            continue;
        }
        let hook_id = hook["id"].as_str().unwrap_or_default();
        let delivery = tx.new_id("dlv")?;
        tx.put(
            "deliveries",
            &delivery,
            Some(account),
            Some(hook_id),
            &json!({
                "id": delivery, "webhookId": hook_id, "eventId": id, "status": "pending",
                "attempts": 0, "nextAttemptAt": tx.now, "createdAt": tx.now,
            }),
        )?;
    }
    Ok(id)
}

/// The event as the API shows it: `{id, type, apiVersion, createdAt, resourceId, jobId, data}`.
pub fn record(id: i64, stored: &Value) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(id.to_string()));
    if let Value::Object(fields) = stored {
        for (k, v) in fields {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(unix_seconds.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={unix_seconds},v1={hex}")
}

/// Whether a webhook URL is one the sandbox delivers to: plain http or https on a loopback host.
pub fn loopback_target(url: &str) -> Option<url::Url> {
    let mut parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let loopback = match parsed.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if !loopback {
        return None;
    }
    // Never ask a resolver what "localhost" is.
    if parsed
        .host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case("localhost"))
    {
        parsed.set_host(Some("127.0.0.1")).ok()?;
    }
    Some(parsed)
}

/// One due delivery, claimed for sending.
struct Job {
    delivery: Value,
    url: Option<url::Url>,
    secret: String,
    kind: String,
    body: Vec<u8>,
}

fn claim_due(store: &Store) -> rusqlite::Result<Vec<Job>> {
    store.tx(|tx| {
        let mut jobs = Vec::new();
        let mut open = tx.having("deliveries", "status", "pending")?;
        open.extend(tx.having("deliveries", "status", "sending")?);
        for mut d in open {
            let due =
                d["status"] == "pending" && d["nextAttemptAt"].as_i64().unwrap_or(0) <= tx.now;
            // A delivery another process claimed but never finished (it died) is retried after a
            // minute.
            let stale =
                d["status"] == "sending" && d["claimedAt"].as_i64().unwrap_or(0) + MINUTE <= tx.now;
            if !due && !stale {
                continue;
            }
            let hook_id = d["webhookId"].as_str().unwrap_or_default().to_owned();
            let Some(hook) = tx.get("webhooks", &hook_id)? else {
                tx.delete("deliveries", d["id"].as_str().unwrap_or_default())?;
                continue;
            };
            let Some(event) = tx.event(d["eventId"].as_i64().unwrap_or(0))? else {
                continue;
            };
            let body = record(d["eventId"].as_i64().unwrap_or(0), &event).to_string();
            d["status"] = json!("sending");
            d["claimedAt"] = json!(tx.now);
            tx.save("deliveries", d["id"].as_str().unwrap_or_default(), &d)?;
            jobs.push(Job {
                url: loopback_target(hook["url"].as_str().unwrap_or_default()),
                secret: hook["secret"].as_str().unwrap_or_default().to_owned(),
                kind: event["type"].as_str().unwrap_or_default().to_owned(),
                body: body.into_bytes(),
                delivery: d,
            });
        }
        Ok(jobs)
    })
}

/// Records the outcome of one attempt: `Some(true)` delivered, `Some(false)` failed, `None` not
/// sent (not a loopback URL: the sandbox never sends anything off this machine).
fn finish(store: &Store, delivery: &Value, outcome: Option<bool>) -> rusqlite::Result<()> {
    store.tx(|tx| {
        let id = delivery["id"].as_str().unwrap_or_default();
        let mut d = delivery.clone();
        let hook_id = d["webhookId"].as_str().unwrap_or_default().to_owned();
        let mut hook = tx.get("webhooks", &hook_id)?;
        let attempts = d["attempts"].as_u64().unwrap_or(0) + 1;
        d["attempts"] = json!(attempts);
        d["lastAttemptAt"] = json!(tx.now);
        match outcome {
            None => d["status"] = json!("not_sent_off_machine"),
            Some(true) => {
                d["status"] = json!("delivered");
                if let Some(h) = hook.as_mut() {
                    h["consecutiveFailures"] = json!(0);
                }
            }
            Some(false) => {
                if attempts as usize > BACKOFF_MINUTES.len() {
                    d["status"] = json!("failed");
                } else {
                    d["status"] = json!("pending");
                    d["nextAttemptAt"] =
                        json!(tx.now + BACKOFF_MINUTES[attempts as usize - 1] * MINUTE);
                }
                if let Some(h) = hook.as_mut() {
                    let failures = h["consecutiveFailures"].as_u64().unwrap_or(0) + 1;
                    h["consecutiveFailures"] = json!(failures);
                    if failures >= DISABLE_AFTER && h["status"] == "ACTIVE" {
                        h["status"] = json!("DISABLED");
                        h["disabledAt"] = json!(clock::iso(tx.now));
                        h["disabledReason"] = json!("Disabled after repeated delivery failures");
                    }
                }
            }
        }
        if let Some(h) = &hook {
            tx.save("webhooks", &hook_id, h)?;
        }
        tx.save("deliveries", id, &d)
    })
}

/// Sends the due deliveries once.
pub async fn deliver_due(store: &Arc<Store>, http: &reqwest::Client) {
    let s = store.clone();
    let jobs = match tokio::task::spawn_blocking(move || claim_due(&s)).await {
        Ok(Ok(jobs)) => jobs,
        Ok(Err(e)) => {
            tracing::warn!("sandbox webhooks: {e}");
            return;
        }
        Err(_) => return,
    };
    for job in jobs {
        let outcome = match &job.url {
            None => None,
            Some(url) => {
                let t = clock::wall_ms() / 1000;
                let result = http
                    .post(url.clone())
                    .header("Content-Type", "application/json")
                    .header("User-Agent", "OpenTrain-Webhooks/1.0")
                    .header("X-OpenTrain-Event", &job.kind)
                    .header(
                        "X-OpenTrain-Delivery",
                        job.delivery["id"].as_str().unwrap_or_default(),
                    )
                    .header(
                        "X-OpenTrain-Signature",
                        signature(&job.secret, t, &job.body),
                    )
                    .body(job.body.clone())
                    .send()
                    .await;
                Some(result.is_ok_and(|r| r.status().is_success()))
            }
        };
        let s = store.clone();
        let delivery = job.delivery.clone();
        let _ = tokio::task::spawn_blocking(move || finish(&s, &delivery, outcome)).await;
    }
}

/// The HTTP client for deliveries: no proxy (loopback only), no redirects, the documented 10 s.
pub fn http_client() -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("cannot start the webhook client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_documented() {
        // HMAC-SHA256("whsec_test", "1781258400.{}") computed independently (Python hmac).
        let s = signature("whsec_test", 1_781_258_400, b"{}");
        assert_eq!(
            s,
            "t=1781258400,v1=f4204ccb1069cfd8fd1e650a9023cb648506f4ea2be05177f60f2158948bc906"
        );
    }

    #[test]
    fn delivers_to_loopback_only() {
        assert!(loopback_target("http://127.0.0.1:9/hook").is_some());
        assert_eq!(
            loopback_target("http://localhost:9/x").unwrap().as_str(),
            "http://127.0.0.1:9/x"
        );
        assert!(loopback_target("http://[::1]:9/x").is_some());
        assert!(loopback_target("https://example.com/hook").is_none());
        assert!(loopback_target("http://10.0.0.1/hook").is_none());
        assert!(loopback_target("ftp://127.0.0.1/x").is_none());
    }
}
