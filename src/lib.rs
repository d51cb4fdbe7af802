//! opentrain-mcp: an MCP server (stdio, or Streamable HTTP with `--http`) exposing the OpenTrain
//! data-labeling marketplace API.
//!
//! The path of one call: rmcp parses `tools/call` → a tool in `tools/<toolset>.rs` builds an
//! [`api::Request`] from typed, self-validating arguments → [`api::Client`] sends it with the
//! token and base URL from [`config`] (retries, time budget, error decoding) → `tools::ok` /
//! `tools::failure` shape the result. See ARCHITECTURE.md.

pub mod api;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod filter;
pub mod guide;
pub mod log;
pub mod metrics;
pub mod sandbox;
pub mod secret;
pub mod server;
pub mod shape;
pub mod text;
pub mod tools;
pub mod transport;
pub mod validate;

pub use server::{OpenTrain, Options, Transport};
pub use transport::stdio::serve_stdio;

/// Overrides the per-call HTTP time budget, in seconds.
pub const ENV_TIMEOUT: &str = "OPENTRAIN_HTTP_TIMEOUT_SECS";

/// The HTTP time budget from `OPENTRAIN_HTTP_TIMEOUT_SECS`, or the default (30 s).
pub fn timeout_from_env(raw: Option<&str>) -> Result<std::time::Duration, String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(api::DEFAULT_TIMEOUT),
        Some(text) => match text.parse::<u64>() {
            Ok(secs) if (1..=600).contains(&secs) => Ok(std::time::Duration::from_secs(secs)),
            _ => Err(format!(
                "{ENV_TIMEOUT}={text:?} is not a whole number of seconds from 1 to 600"
            )),
        },
    }
}
