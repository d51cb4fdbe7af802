//! The human's part, on plain HTML pages served on 127.0.0.1 (no script): accept a claim,
//! confirm or decline an approval, pay or cancel a top-up, add a card — each action a form POST
//! to the page's own URL with one submit button — plus read-only pages for drafts, jobs and
//! trainer profiles, and a home page listing what waits for the human (with a clock to move
//! sandbox time forward).
//!
//! Anyone who can reach the sandbox's port acts as the human: it is a rehearsal, on loopback.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::clock::{self, HOUR};
use super::routes::auth::{HUMAN_MINTED, valid_email};
use super::routes::contracts::{self, CONTRACT_FEE_CENTS, marketplace_fee};
use super::routes::{App, Body, Query, credits, jobs};
use super::store::Tx;
use super::{hash, world};

pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/sandbox/clock", axum::routing::post(advance_clock))
        .route("/claim", get(claim_page).post(claim_post))
        .route("/approvals/{id}", get(approval_page).post(approval_post))
        .route("/checkout/{id}", get(checkout_page).post(checkout_post))
        .route("/billing", get(billing_page).post(billing_post))
        .route("/job-post", get(draft_page))
        .route("/jobs/{key}", get(job_page))
        .route("/profile/{slug}", get(profile_page))
        .route("/photos/{file}", get(photo))
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn money(cents: i64) -> String {
    format!("${:.2}", cents as f64 / 100.0)
}

/// A page: the sandbox banner, a title, the body (already HTML).
fn html(status: u16, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} — OpenTrain sandbox</title><style>\
         body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;color:#222}}\
         .banner{{background:#fff3cd;border:1px solid #e0c36b;padding:.5rem .8rem;border-radius:6px}}\
         .code{{font:700 2rem/1 monospace;letter-spacing:.3rem}}\
         table{{border-collapse:collapse}} td,th{{padding:.2rem .8rem .2rem 0;text-align:left;vertical-align:top}}\
         form{{margin:.8rem 0}} button{{font-size:1rem;padding:.4rem 1rem}}\
         .error{{color:#a00;font-weight:600}} .ok{{color:#070;font-weight:600}}\
         </style></head><body>\
         <p class=\"banner\"><strong>OpenTrain sandbox</strong> — a local simulation: no real \
         people, jobs or money. <a href=\"/\">What is waiting for you</a></p>\
         <h1>{t}</h1>\n{body}\n</body></html>\n",
        t = escape(title)
    );
    let mut response =
        (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), page).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// What a page handler returns: a page, or a redirect after a successful POST.
enum Page {
    Html(u16, String, String),
    Redirect(String),
}

fn page(status: u16, title: &str, body: String) -> Page {
    Page::Html(status, title.to_owned(), body)
}

fn not_found(what: &str) -> Page {
    page(
        404,
        "Not found",
        format!(
            "<p>No such {}. Check the link your agent gave you.</p>",
            escape(what)
        ),
    )
}

fn run<F>(app: &App, f: F) -> impl Future<Output = Response> + Send + '_
where
    F: FnOnce(&mut Tx, &str) -> rusqlite::Result<Page> + Send + 'static,
{
    run_job(app, Box::new(f))
}

type PageJob = Box<dyn FnOnce(&mut Tx, &str) -> rusqlite::Result<Page> + Send>;

async fn run_job(app: &App, f: PageJob) -> Response {
    let store = app.0.store.clone();
    let base = app.0.base.clone();
    let outcome = tokio::task::spawn_blocking(move || store.tx(|tx| f(tx, &base))).await;
    app.0.wake.notify_one();
    match outcome {
        Ok(Ok(Page::Html(status, title, body))) => html(status, &title, &body),
        Ok(Ok(Page::Redirect(to))) => see_other(&to),
        _ => html(
            500,
            "Something went wrong",
            "<p>The sandbox could not read its world; try again.</p>",
        ),
    }
}

fn form(body: &[u8]) -> Query {
    Query(
        url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

fn button(action: &str, label: &str, extra: &str) -> String {
    format!(
        "<form method=\"post\">{extra}<input type=\"hidden\" name=\"action\" value=\"{action}\">\
         <button type=\"submit\" name=\"submit\" value=\"{action}\">{}</button></form>",
        escape(label)
    )
}

// ---------------------------------------------------------------------------------------------
// Home and clock

async fn home(State(app): State<App>) -> Response {
    run(&app, |tx, base| {
        let mut body = format!(
            "<p>Sandbox time: <strong>{}</strong>. API: <code>{}/api/public/v1</code>.</p>",
            clock::human(tx.now),
            escape(base)
        );
        let mut waiting = Vec::new();
        for a in tx.all("approvals")? {
            if a["status"] == "pending" {
                let id = a["id"].as_str().unwrap_or_default();
                waiting.push(format!(
                    "<li><a href=\"/approvals/{id}\">Approval {id}</a> — {}, expires {}</li>",
                    escape(&kind_text(&a)),
                    clock::human(a["expiresAt"].as_i64().unwrap_or(0))
                ));
            }
        }
        for t in tx.all("top_ups")? {
            if t["status"] == "PENDING" {
                let id = t["id"].as_str().unwrap_or_default();
                waiting.push(format!(
                    "<li><a href=\"/checkout/{id}\">Top-up {id}</a> — {} of credits to pay</li>",
                    money(t["amountCents"].as_i64().unwrap_or(0))
                ));
            }
        }
        for c in tx.all("claims")? {
            if c["status"] == "pending" && c["expiresAt"].as_i64().unwrap_or(0) > tx.now {
                waiting.push(format!(
                    "<li>A claim for {} — open the link your agent gave you (code {}).</li>",
                    escape(c["email"].as_str().unwrap_or("?")),
                    escape(c["userCode"].as_str().unwrap_or(""))
                ));
            }
        }
        body.push_str("<h2>Waiting for you</h2>");
        if waiting.is_empty() {
            body.push_str("<p>Nothing right now.</p>");
        } else {
            body.push_str(&format!("<ul>{}</ul>", waiting.join("")));
        }
        body.push_str("<h2>Agent accounts</h2><table><tr><th>Account</th><th>Claimed</th><th>Credits</th><th>Card</th></tr>");
        for a in tx.all("accounts")? {
            if a["market"] == true {
                continue;
            }
            let id = a["id"].as_str().unwrap_or_default();
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/billing?account={id}\">{}</a></td></tr>",
                escape(a["organizationName"].as_str().or(a["agentName"].as_str()).unwrap_or(id)),
                if a["claimed"] == true { escape(a["email"].as_str().unwrap_or("yes")) } else { "not yet".into() },
                money(a["availableCents"].as_i64().unwrap_or(0)),
                if a["card"].is_null() { "add a card" } else { "card on file" },
            ));
        }
        body.push_str("</table><h2>Sandbox clock</h2><p>Move time forward to see approvals (72 h) and top-ups (24 h) expire.</p>\
            <form method=\"post\" action=\"/sandbox/clock\"><label>Hours <input name=\"hours\" type=\"number\" min=\"1\" max=\"2000\" value=\"73\"></label> \
            <button type=\"submit\">Advance the clock</button></form>");
        Ok(page(200, "What is waiting for you", body))
    })
    .await
}

async fn advance_clock(State(app): State<App>, body: Body) -> Response {
    let f = form(&body);
    let hours: i64 = f
        .get("hours")
        .and_then(|h| h.parse().ok())
        .filter(|h| (1..=2000).contains(h))
        .unwrap_or(0);
    run(&app, move |tx, _| {
        if hours == 0 {
            return Ok(page(
                400,
                "Sandbox clock",
                "<p class=\"error\">Give a whole number of hours from 1 to 2000.</p>".into(),
            ));
        }
        tx.advance_clock(hours * HOUR)?;
        Ok(Page::Redirect("/".into()))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Claim

fn find_claim(tx: &Tx, token: &str) -> rusqlite::Result<Option<(Value, Value)>> {
    let Some(attempt) = tx.find("claims", "catHash", &hash(token))? else {
        return Ok(None);
    };
    let account = tx
        .get("accounts", attempt["account"].as_str().unwrap_or_default())?
        .unwrap_or(Value::Null);
    Ok(Some((attempt, account)))
}

fn name_from_email(email: &str) -> (String, String) {
    let local = email.split('@').next().unwrap_or("");
    let mut parts = local
        .split(['.', '_', '-', '+'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        });
    let first = parts.next().unwrap_or_else(|| "Sandbox".into());
    let last = parts.next().unwrap_or_else(|| "Owner".into());
    (first, last)
}

fn claim_view(tx: &Tx, attempt: &Value, account: &Value, error: Option<&str>) -> Page {
    let email = attempt["email"].as_str().unwrap_or("");
    let agent = account["agentName"].as_str().unwrap_or("An AI agent");
    let mut body = String::new();
    if let Some(e) = error {
        body.push_str(&format!("<p class=\"error\">{}</p>", escape(e)));
    }
    if account["claimed"] == true {
        body.push_str(&format!(
            "<p class=\"ok\">Claimed: {} now belongs to {}.</p><p>Your agent finishes with \
             <code>opentrain_claim_status</code>; its new token replaces the old one.</p>",
            escape(agent),
            escape(account["email"].as_str().unwrap_or(email))
        ));
        return page(200, "Claim accepted", body);
    }
    if attempt["status"] != "pending" || attempt["expiresAt"].as_i64().unwrap_or(0) <= tx.now {
        body.push_str("<p class=\"error\">This claim link has expired or was replaced. Ask your agent to start the claim again (opentrain_claim_account).</p>");
        return page(410, "Claim link expired", body);
    }
    let code = attempt["userCode"].as_str().unwrap_or("");
    let (first, last) = name_from_email(email);
    body.push_str(&format!(
        "<p><strong>{agent}</strong> asks you to claim its OpenTrain account{org}, as <strong>{email}</strong>. \
         Once you accept, you own the account: it can then hire, message and (with your approval on \
         each payment) spend.</p>\
         <p>Check that your agent shows the same code:</p><p class=\"code\" id=\"user-code\">{code}</p>\
         <form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"accept\">\
         <input type=\"hidden\" name=\"extras_shown\" value=\"1\">\
         <p><label>Code <input name=\"user_code\" value=\"{code}\" inputmode=\"numeric\" size=\"8\"></label></p>\
         <p><label>First name <input name=\"first_name\" value=\"{first}\"></label> \
         <label>Last name <input name=\"last_name\" value=\"{last}\"></label></p>\
         <p><label><input type=\"checkbox\" name=\"grant\" value=\"payments:write\" checked> Also let the agent \
         request payments (payments:write: milestones, top-ups)</label><br>\
         <label><input type=\"checkbox\" name=\"grant\" value=\"webhooks:manage\" checked> and manage webhooks \
         (webhooks:manage)</label><br><small>On the real OpenTrain a claim never grants these: you would mint an \
         API key with them under Settings → API keys. The sandbox folds that step in so the rehearsal reaches \
         the money flow; every payment still waits for your confirmation.</small></p>\
         <button type=\"submit\" name=\"submit\" value=\"accept\">Accept the claim</button></form>",
        agent = escape(agent),
        org = account["organizationName"].as_str().map(|o| format!(" for {}", escape(o))).unwrap_or_default(),
        email = escape(email),
        code = escape(code),
        first = escape(&first),
        last = escape(&last),
    ));
    page(200, "Claim your agent's account", body)
}

async fn claim_page(State(app): State<App>, RawQuery(raw): RawQuery) -> Response {
    let q = Query::parse(raw.as_deref());
    let token = q.get("token").unwrap_or("").to_owned();
    run(&app, move |tx, _| {
        if token.is_empty() {
            return Ok(page(200, "Claim an agent account", "<p>Your agent starts a claim with \
                <code>opentrain_claim_account</code> and gives you a link to this page with a code. \
                Open that link.</p>".into()));
        }
        Ok(match find_claim(tx, &token)? {
            Some((attempt, account)) => claim_view(tx, &attempt, &account, None),
            None => not_found("claim"),
        })
    })
    .await
}

async fn claim_post(State(app): State<App>, RawQuery(raw): RawQuery, body: Body) -> Response {
    let q = Query::parse(raw.as_deref());
    let token = q.get("token").unwrap_or("").to_owned();
    let f = form(&body);
    run(&app, move |tx, _| {
        let Some((mut attempt, mut account)) = find_claim(tx, &token)? else {
            return Ok(not_found("claim"));
        };
        if f.get("action") != Some("accept") {
            return Ok(claim_view(tx, &attempt, &account, Some("Unknown action.")));
        }
        if account["claimed"] == true {
            return Ok(Page::Redirect(format!("/claim?token={token}")));
        }
        if attempt["status"] != "pending" || attempt["expiresAt"].as_i64().unwrap_or(0) <= tx.now {
            return Ok(claim_view(tx, &attempt, &account, None));
        }
        if f.get("user_code").map(str::trim) != attempt["userCode"].as_str() {
            return Ok(claim_view(
                tx,
                &attempt,
                &account,
                Some("That code does not match. Type the code your agent shows."),
            ));
        }
        let email = attempt["email"].as_str().unwrap_or("").to_owned();
        if !valid_email(&email) {
            return Ok(claim_view(
                tx,
                &attempt,
                &account,
                Some("This claim has no valid email."),
            ));
        }
        let (first, last) = name_from_email(&email);
        let extras: Vec<&str> = if f.get("extras_shown").is_some() {
            f.0.iter()
                .filter(|(k, v)| k == "grant" && HUMAN_MINTED.contains(&v.as_str()))
                .map(|(_, v)| v.as_str())
                .collect()
        } else {
            HUMAN_MINTED.to_vec()
        };
        account["claimed"] = json!(true);
        account["claimedAt"] = json!(tx.now);
        account["email"] = json!(email);
        account["firstName"] = json!(f.get("first_name").map(str::trim).unwrap_or(&first));
        account["lastName"] = json!(f.get("last_name").map(str::trim).unwrap_or(&last));
        account["grantedExtras"] = json!(extras);
        tx.save(
            "accounts",
            account["id"].as_str().unwrap_or_default(),
            &account,
        )?;
        attempt["status"] = json!("accepted");
        tx.save(
            "claims",
            attempt["id"].as_str().unwrap_or_default(),
            &attempt,
        )?;
        Ok(Page::Redirect(format!("/claim?token={token}")))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Approvals

fn kind_text(a: &Value) -> String {
    match a["type"].as_str() {
        Some("proposal_hire") => "hire an AI trainer".into(),
        Some("milestone_fund") => "fund a milestone (escrow)".into(),
        Some("milestone_approve") => "release a milestone's payment".into(),
        Some("contract_end") => "end a contract".into(),
        other => other.unwrap_or("?").to_owned(),
    }
}

fn approval_view(tx: &Tx, base: &str, a: &Value, error: Option<&str>) -> rusqlite::Result<Page> {
    let id = a["id"].as_str().unwrap_or_default();
    let mut body = String::new();
    if let Some(e) = error {
        body.push_str(&format!("<p class=\"error\">{}</p>", escape(e)));
    }
    let job = tx
        .get("jobs", a["jobId"].as_str().unwrap_or_default())?
        .unwrap_or(Value::Null);
    body.push_str(&format!(
        "<p>Your agent asks you to <strong>{}</strong> on the job “{}”.</p><table>",
        escape(&kind_text(a)),
        escape(job["fields"]["jobTitle"].as_str().unwrap_or("?"))
    ));
    let mut row =
        |k: &str, v: String| body.push_str(&format!("<tr><th>{}</th><td>{v}</td></tr>", escape(k)));
    match a["type"].as_str() {
        Some("proposal_hire") => {
            let p = tx
                .get("proposals", a["proposalId"].as_str().unwrap_or_default())?
                .unwrap_or(Value::Null);
            let profile =
                world::profile(tx.seed, p["trainer"].as_u64().unwrap_or(0) as usize, base);
            let amount = a["terms"]["amountCents"].as_i64().unwrap_or(0);
            row(
                "AI trainer",
                format!(
                    "<a href=\"{}\">{}</a> — {}",
                    escape(profile["profilePath"].as_str().unwrap_or("")),
                    escape(profile["displayName"].as_str().unwrap_or("")),
                    escape(profile["title"].as_str().unwrap_or(""))
                ),
            );
            row(
                "First milestone",
                escape(
                    a["terms"]["name"]
                        .as_str()
                        .or(a["terms"]["description"].as_str())
                        .unwrap_or(""),
                ),
            );
            row("Milestone amount", money(amount));
            row("Marketplace fee (10%)", money(marketplace_fee(amount)));
            row("Contract fee", money(CONTRACT_FEE_CENTS));
            row(
                "Charged now, held in escrow",
                format!(
                    "<strong>{}</strong>",
                    money(a["chargeCents"].as_i64().unwrap_or(0))
                ),
            );
        }
        Some("milestone_fund") | Some("milestone_approve") => {
            let m = tx
                .get("milestones", a["milestoneId"].as_str().unwrap_or_default())?
                .unwrap_or(Value::Null);
            let amount = m["amountCents"].as_i64().unwrap_or(0);
            row(
                "Milestone",
                escape(
                    m["name"]
                        .as_str()
                        .or(m["description"].as_str())
                        .unwrap_or(""),
                ),
            );
            row("Amount", money(amount));
            if a["type"] == "milestone_fund" {
                row("Marketplace fee (10%)", money(marketplace_fee(amount)));
                row(
                    "Charged now, held in escrow",
                    format!(
                        "<strong>{}</strong>",
                        money(a["chargeCents"].as_i64().unwrap_or(0))
                    ),
                );
            } else {
                row(
                    "Paid out to the trainer",
                    format!(
                        "<strong>{}</strong> (released from escrow; cannot be undone)",
                        money(amount)
                    ),
                );
            }
        }
        Some("contract_end") => {
            row("Contract", escape(a["contractId"].as_str().unwrap_or("")));
            row(
                "Funded milestones",
                "their escrow is returned (credits to your balance)".into(),
            );
        }
        _ => {}
    }
    row("Status", escape(a["status"].as_str().unwrap_or("")));
    row(
        "Expires",
        clock::human(a["expiresAt"].as_i64().unwrap_or(0)),
    );
    body.push_str("</table>");
    if a["status"] != "pending" {
        body.push_str(&format!(
            "<p class=\"ok\">This approval is {}{}.</p>",
            escape(a["status"].as_str().unwrap_or("")),
            if a["result"].is_null() {
                String::new()
            } else {
                format!(": <code>{}</code>", escape(&a["result"].to_string()))
            }
        ));
        return Ok(page(200, &format!("Approval {id}"), body));
    }
    let mut pay = String::new();
    if matches!(a["type"].as_str(), Some("proposal_hire" | "milestone_fund")) {
        let (charge, credits, card) = contracts::payment_options(tx, a)?;
        let account = tx
            .get("accounts", a["account"].as_str().unwrap_or_default())?
            .unwrap_or(Value::Null);
        let available = account["availableCents"].as_i64().unwrap_or(0);
        pay.push_str(&format!(
            "<p>Pay {} with: <label><input type=\"radio\" name=\"source\" value=\"credits\"{}{}> credit balance ({})</label> \
             <label><input type=\"radio\" name=\"source\" value=\"card\"{}{}> card on file</label></p>",
            money(charge),
            if credits { "" } else { " disabled" },
            if credits { " checked" } else { "" },
            money(available),
            if card { "" } else { " disabled" },
            if card && !credits { " checked" } else { "" },
        ));
        if !credits && !card {
            body.push_str(&format!(
                "<p class=\"error\">No card on file and not enough credits: <a href=\"/billing?account={}\">add a card</a> first.</p>",
                escape(a["account"].as_str().unwrap_or_default())
            ));
        }
    }
    body.push_str(&button("confirm", "Confirm", &pay));
    body.push_str(&button("decline", "Decline", ""));
    Ok(page(200, &format!("Approval {id}"), body))
}

async fn approval_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    run(&app, move |tx, base| {
        contracts::expire_approvals(
            tx,
            tx.get("approvals", &id)?
                .and_then(|a| a["account"].as_str().map(str::to_owned))
                .as_deref()
                .unwrap_or(""),
        )?;
        match tx.get("approvals", &id)? {
            Some(a) => approval_view(tx, base, &a, None),
            None => Ok(not_found("approval")),
        }
    })
    .await
}

async fn approval_post(State(app): State<App>, Path(id): Path<String>, body: Body) -> Response {
    let f = form(&body);
    run(&app, move |tx, base| {
        let Some(a) = tx.get("approvals", &id)? else {
            return Ok(not_found("approval"));
        };
        let confirm = match f.get("action") {
            Some("confirm") => true,
            Some("decline") => false,
            _ => return approval_view(tx, base, &a, Some("Unknown action.")),
        };
        match contracts::resolve(tx, &id, confirm, f.get("source")) {
            Ok(()) => Ok(Page::Redirect(format!("/approvals/{id}"))),
            Err(e) => {
                let a = tx.get("approvals", &id)?.unwrap_or(a);
                match approval_view(tx, base, &a, Some(&e))? {
                    Page::Html(_, t, b) => Ok(Page::Html(409, t, b)),
                    other => Ok(other),
                }
            }
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Checkout (top-ups) and billing (cards)

fn checkout_view(t: &Value, error: Option<&str>) -> Page {
    let id = t["id"].as_str().unwrap_or_default();
    let mut body = String::new();
    if let Some(e) = error {
        body.push_str(&format!("<p class=\"error\">{}</p>", escape(e)));
    }
    let amount = money(t["amountCents"].as_i64().unwrap_or(0));
    match t["status"].as_str() {
        Some("PENDING") => {
            body.push_str(&format!(
                "<p>Your agent asks you to buy <strong>{amount}</strong> of OpenTrain credits \
                 (a simulated Stripe Checkout: nothing is charged).</p>"
            ));
            body.push_str(&button("pay", &format!("Pay {amount}"), ""));
            body.push_str(&button("cancel", "Cancel", ""));
        }
        Some(status) => body.push_str(&format!(
            "<p class=\"ok\">This top-up of {amount} is {}.</p>",
            escape(status)
        )),
        None => {}
    }
    page(200, &format!("Top-up {id}"), body)
}

async fn checkout_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    run(&app, move |tx, _| {
        if let Some(t) = tx.get("top_ups", &id)? {
            credits::expire_top_ups(tx, t["account"].as_str().unwrap_or_default())?;
        }
        Ok(match tx.get("top_ups", &id)? {
            Some(t) => checkout_view(&t, None),
            None => not_found("top-up"),
        })
    })
    .await
}

async fn checkout_post(State(app): State<App>, Path(id): Path<String>, body: Body) -> Response {
    let f = form(&body);
    run(&app, move |tx, _| {
        let Some(t) = tx.get("top_ups", &id)? else {
            return Ok(not_found("top-up"));
        };
        let pay = match f.get("action") {
            Some("pay") => true,
            Some("cancel") => false,
            _ => return Ok(checkout_view(&t, Some("Unknown action."))),
        };
        match credits::finish_top_up(tx, &id, pay) {
            Ok(()) => Ok(Page::Redirect(format!("/checkout/{id}"))),
            Err(e) => {
                let t = tx.get("top_ups", &id)?.unwrap_or(t);
                Ok(match checkout_view(&t, Some(&e)) {
                    Page::Html(_, title, b) => Page::Html(409, title, b),
                    other => other,
                })
            }
        }
    })
    .await
}

fn billing_view(a: &Value, error: Option<&str>) -> Page {
    let mut body = String::new();
    if let Some(e) = error {
        body.push_str(&format!("<p class=\"error\">{}</p>", escape(e)));
    }
    body.push_str(&format!(
        "<p>Account: {}. Credit balance: {} available, {} in escrow.</p>",
        escape(
            a["organizationName"]
                .as_str()
                .or(a["agentName"].as_str())
                .unwrap_or(a["id"].as_str().unwrap_or(""))
        ),
        money(a["availableCents"].as_i64().unwrap_or(0)),
        money(a["reservedCents"].as_i64().unwrap_or(0)),
    ));
    if a["card"].is_null() {
        body.push_str("<p>No card on file. Add one (simulated: nothing is ever charged):</p>");
        body.push_str(&button(
            "add_card",
            "Add card",
            "<p><label>Card number <input name=\"card_number\" value=\"4242 4242 4242 4242\" size=\"22\"></label></p>",
        ));
    } else {
        body.push_str(&format!(
            "<p class=\"ok\">Card on file: {} ending in {}.</p>",
            escape(a["card"]["brand"].as_str().unwrap_or("card")),
            escape(a["card"]["last4"].as_str().unwrap_or("????"))
        ));
    }
    page(200, "Billing", body)
}

async fn billing_page(State(app): State<App>, RawQuery(raw): RawQuery) -> Response {
    let q = Query::parse(raw.as_deref());
    let id = q.get("account").unwrap_or("").to_owned();
    run(&app, move |tx, _| {
        Ok(
            match tx.get("accounts", &id)?.filter(|a| a["market"] != true) {
                Some(a) => billing_view(&a, None),
                None => not_found("account"),
            },
        )
    })
    .await
}

async fn billing_post(State(app): State<App>, RawQuery(raw): RawQuery, body: Body) -> Response {
    let q = Query::parse(raw.as_deref());
    let id = q.get("account").unwrap_or("").to_owned();
    let f = form(&body);
    run(&app, move |tx, _| {
        let Some(mut a) = tx.get("accounts", &id)?.filter(|a| a["market"] != true) else {
            return Ok(not_found("account"));
        };
        if f.get("action") != Some("add_card") {
            return Ok(billing_view(&a, Some("Unknown action.")));
        }
        let digits: String = f.get("card_number").unwrap_or("4242424242424242").chars().filter(char::is_ascii_digit).collect();
        if !(12..=19).contains(&digits.len()) {
            return Ok(billing_view(&a, Some("That does not look like a card number.")));
        }
        a["card"] = json!({"brand": if digits.starts_with('4') { "Visa" } else { "Card" }, "last4": &digits[digits.len() - 4..], "addedAt": tx.now});
        tx.save("accounts", &id, &a)?;
        Ok(Page::Redirect(format!("/billing?account={id}")))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Read-only pages: drafts, jobs, profiles

async fn draft_page(State(app): State<App>, RawQuery(raw): RawQuery) -> Response {
    let q = Query::parse(raw.as_deref());
    let id = q.get("jobId").or(q.get("job")).unwrap_or("").to_owned();
    run(&app, move |tx, _| {
        let Some(job) = tx.get("jobs", &id)? else {
            return Ok(not_found("draft"));
        };
        let f = &job["fields"];
        let (validation, missing) = jobs::validation(f);
        let mut body = format!(
            "<p>Status: <strong>{}</strong>.</p><table>",
            escape(job["status"].as_str().unwrap_or(""))
        );
        if let Some(map) = f.as_object() {
            for (k, v) in map {
                if v.is_null() {
                    continue;
                }
                let shown = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                body.push_str(&format!(
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(k),
                    escape(&shown)
                ));
            }
        }
        body.push_str("</table>");
        if validation["publishReady"] == true {
            body.push_str("<p class=\"ok\">Ready to publish: your agent can publish it.</p>");
        } else {
            body.push_str("<h2>Still missing</h2><ul>");
            for m in missing.as_array().cloned().unwrap_or_default() {
                body.push_str(&format!(
                    "<li>{} — {}</li>",
                    escape(m["label"].as_str().unwrap_or("")),
                    escape(m["prompt"].as_str().unwrap_or(""))
                ));
            }
            body.push_str("</ul>");
        }
        Ok(page(
            200,
            f["jobTitle"].as_str().unwrap_or("Job draft"),
            body,
        ))
    })
    .await
}

async fn job_page(State(app): State<App>, Path(key): Path<String>) -> Response {
    run(&app, move |tx, base| {
        let job = match tx.get("jobs", &key)? {
            Some(j) => Some(j),
            None => match key.rsplit_once('-') {
                Some((_, tail)) => tx.all("jobs")?.into_iter().find(|j| {
                    j["id"]
                        .as_str()
                        .is_some_and(|id| id.ends_with(tail) && key.ends_with(id))
                }),
                None => None,
            },
        };
        let Some(job) = job else {
            return Ok(not_found("job"));
        };
        if job["status"] != "OPEN" {
            return Ok(page(
                200,
                job["fields"]["jobTitle"].as_str().unwrap_or("Job"),
                format!(
                    "<p>This job is {} and not on the marketplace.</p>",
                    escape(&job["status"].as_str().unwrap_or("").to_lowercase())
                ),
            ));
        }
        let shape = jobs::public_shape(tx, base, &job)?;
        let proposals = tx
            .list(
                "proposals",
                "parent",
                job["id"].as_str().unwrap_or_default(),
            )?
            .len();
        let body = format!(
            "<p>{} — {} — languages: {}</p><p>{}</p><p>{proposals} proposal(s) so far.</p>",
            escape(shape["companyName"].as_str().unwrap_or("")),
            escape(
                &shape["pay"]["paymentType"]
                    .as_str()
                    .unwrap_or("")
                    .replace('_', " ")
                    .to_lowercase()
            ),
            escape(&super::routes::strings(&shape["languages"]).join(", ")),
            escape(shape["descriptionText"].as_str().unwrap_or("")),
        );
        Ok(page(200, shape["title"].as_str().unwrap_or("Job"), body))
    })
    .await
}

async fn profile_page(State(app): State<App>, Path(slug): Path<String>) -> Response {
    run(&app, move |tx, base| {
        let Some(i) = world::find_trainer(tx.seed, &slug) else {
            return Ok(not_found("profile"));
        };
        let p = world::profile(tx.seed, i, base);
        let body = format!(
            "<p><img src=\"{}\" alt=\"\" width=\"64\" height=\"64\"> {} — {}, {}</p><p>{}</p>\
             <p>Languages: {}. Rate ${}/hour. Job success {}%. Open Label score {}.</p>",
            escape(p["profilePhotoUrl"].as_str().unwrap_or("")),
            escape(p["title"].as_str().unwrap_or("")),
            escape(p["city"].as_str().unwrap_or("")),
            escape(p["country"].as_str().unwrap_or("")),
            escape(p["bio"].as_str().unwrap_or("")),
            escape(
                &p["languages"]
                    .as_array()
                    .map(|l| l
                        .iter()
                        .filter_map(|x| x["language"].as_str())
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            ),
            p["hourlyRateUsd"],
            p["stats"]["jobSuccessScore"],
            p["openLabel"]["score"],
        );
        Ok(page(
            200,
            p["displayName"].as_str().unwrap_or("AI trainer"),
            body,
        ))
    })
    .await
}

async fn photo(State(app): State<App>, Path(file): Path<String>) -> Response {
    let slug = file.trim_end_matches(".svg").to_owned();
    let store = app.0.store.clone();
    let found = tokio::task::spawn_blocking(move || {
        store.tx(|tx| Ok::<_, rusqlite::Error>(world::find_trainer(tx.seed, &slug)))
    })
    .await;
    let Ok(Ok(Some(i))) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let t = &world::TRAINERS[i];
    let hue = (i * 37) % 360;
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"96\" height=\"96\" viewBox=\"0 0 96 96\">\
         <rect width=\"96\" height=\"96\" rx=\"48\" fill=\"hsl({hue},55%,55%)\"/>\
         <text x=\"48\" y=\"60\" font-family=\"sans-serif\" font-size=\"36\" text-anchor=\"middle\" fill=\"#fff\">{}{}</text></svg>",
        &t.first[..1],
        t.initial
    );
    let mut response = svg.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    response
}
