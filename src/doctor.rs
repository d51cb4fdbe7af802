//! `opentrain-mcp doctor`: checks a setup the way the server will run it, for the human setting
//! it up. The report is data; `main.rs` prints it and exits 0 only when every check passed.

use crate::api::Request;
use crate::config::TokenSource;
use crate::server::OpenTrain;
use crate::tools::result::format::ResultFormat;
use crate::tools::summary::{joined, text, text_or};

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub label: &'static str,
    pub detail: String,
}

fn check(ok: bool, label: &'static str, detail: impl Into<String>) -> Check {
    Check {
        ok,
        label,
        detail: detail.into(),
    }
}

/// Runs every check; the API is called only when a token and a base URL are available.
pub async fn run(server: &OpenTrain, total_tools: usize) -> Vec<Check> {
    let config = server.config();
    let mut checks = Vec::new();
    if let Some(e) = server.setup_error() {
        checks.push(check(
            false,
            "configuration",
            format!(
                "{e}. Until this is fixed the server answers every call with this error (and says \
                 so in its instructions) instead of calling the API."
            ),
        ));
    }
    if config.is_sandbox() {
        checks.push(check(
            true,
            "mode",
            "SANDBOX: a simulated OpenTrain on 127.0.0.1 (no real people, jobs or money; \
             nothing leaves this machine)",
        ));
    }

    let env_token = config.env_token().is_some();
    match config.path() {
        None => checks.push(check(
            env_token,
            "credentials file",
            "cannot be located (neither XDG_CONFIG_HOME nor HOME is set)",
        )),
        Some(path) => {
            let shown = path.display();
            match (config.read(), file_mode(path)) {
                (Ok(creds), _) if !creds.exists => checks.push(check(
                    true,
                    "credentials file",
                    format!("{shown} (absent; created on registration)"),
                )),
                (Ok(_), Some(mode)) if mode & 0o077 != 0 => checks.push(check(
                    false,
                    "credentials file",
                    format!(
                        "{shown} is readable but has mode {mode:04o}: others can read the token. \
                         Run: chmod 600 {shown}"
                    ),
                )),
                (Ok(_), mode) => checks.push(check(
                    true,
                    "credentials file",
                    format!(
                        "{shown} (readable{})",
                        mode.map(|m| format!(", mode {m:04o}")).unwrap_or_default()
                    ),
                )),
                (Err(e), _) => checks.push(check(false, "credentials file", e.to_string())),
            }
        }
    }

    let settings = match config.settings() {
        Ok(s) => s,
        Err(e) => {
            checks.push(check(false, "settings", e.to_string()));
            checks.push(tools_check(server, total_tools));
            return masked(server, checks);
        }
    };
    let token_ok = settings.token.is_some();
    checks.push(check(
        token_ok || config.is_sandbox(),
        "token",
        match (&settings.token, &settings.token_source) {
            (Some(t), TokenSource::Env) => {
                format!("{} from {}", t.prefix(), crate::config::ENV_TOKEN)
            }
            (Some(t), TokenSource::File(p)) => format!("{} from {}", t.prefix(), p.display()),
            _ if config.is_sandbox() => "none yet in the sandbox: the agent registers with \
                                         opentrain_register_agent"
                .to_owned(),
            _ => format!(
                "none: set {} in the MCP client's env, or let the agent call \
                 opentrain_register_agent",
                crate::config::ENV_TOKEN
            ),
        },
    ));
    checks.push(check(
        true,
        "base URL",
        format!(
            "{} (from {})",
            settings.base_url.as_str().trim_end_matches('/'),
            settings.base_url_origin
        ),
    ));

    if token_ok {
        let api = match server.call(&Request::get("/auth/me")).await {
            Ok(response) => {
                let b = &response.body;
                check(
                    true,
                    "API",
                    format!(
                        "GET /auth/me works: {} ({}); scopes {}",
                        text(b, "/actor/fullName")
                            .or_else(|| text(b, "/actor/email"))
                            .unwrap_or_else(|| text_or(b, "/actor/userId", "unknown user")),
                        text_or(b, "/account/kind", "account"),
                        joined(b, "/token/scopes"),
                    ),
                )
            }
            Err(e) => {
                let result = crate::tools::failure(&e, config);
                let first = result
                    .content
                    .iter()
                    .find_map(|c| c.as_text().map(|t| t.text.clone()))
                    .unwrap_or_else(|| e.to_string());
                check(false, "API", format!("GET /auth/me failed: {first}"))
            }
        };
        checks.push(api);
    } else if config.is_sandbox() {
        let api = match server
            .call(&Request::get("/jobs/facets").without_token())
            .await
        {
            Ok(r) => check(
                true,
                "API",
                format!(
                    "the sandbox answers: {} public jobs in its world",
                    text_or(&r.body, "/totalJobs", "?")
                ),
            ),
            Err(e) => check(false, "API", format!("the sandbox does not answer: {e}")),
        };
        checks.push(api);
    } else {
        checks.push(check(false, "API", "not checked: no token"));
    }
    checks.push(tools_check(server, total_tools));
    checks.push(check(
        true,
        "result format",
        match server.result_format() {
            ResultFormat::Text => "text (the default): summary and data in the text every client \
                                   shows its model"
                .to_owned(),
            ResultFormat::Structured => "structured: summary as text, the API's answer as \
                                         structuredContent"
                .to_owned(),
        },
    ));
    masked(server, checks)
}

/// Every line with the credentials the configuration knows masked (an API error may echo one).
fn masked(server: &OpenTrain, checks: Vec<Check>) -> Vec<Check> {
    checks
        .into_iter()
        .map(|c| Check {
            detail: server.masked(c.detail),
            ..c
        })
        .collect()
}

fn tools_check(server: &OpenTrain, total: usize) -> Check {
    let n = server.tools().len();
    if server.setup_error().is_some() {
        return check(
            false,
            "tools",
            "none usable until the configuration is fixed",
        );
    }
    check(
        n > 0,
        "tools",
        format!(
            "{n} of {total} enabled{}",
            if server.read_only() {
                " (read-only mode)"
            } else {
                ""
            }
        ),
    )
}

#[cfg(unix)]
fn file_mode(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn file_mode(_: &std::path::Path) -> Option<u32> {
    None
}

/// The report as text, one check per line, and whether all passed.
pub fn render(checks: &[Check]) -> (String, bool) {
    let all_ok = checks.iter().all(|c| c.ok);
    let mut out = String::from("opentrain-mcp doctor\n");
    for c in checks {
        out.push_str(&format!(
            "  [{}] {:<17} {}\n",
            if c.ok { "ok" } else { "!!" },
            c.label,
            c.detail
        ));
    }
    let problems = checks.iter().filter(|c| !c.ok).count();
    out.push_str(&if all_ok {
        "All good.\n".to_owned()
    } else {
        format!("{problems} problem(s) found.\n")
    });
    (out, all_ok)
}
