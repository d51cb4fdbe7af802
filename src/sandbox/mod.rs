//! The sandbox: a second implementation of the OpenTrain API (not of the tools), served by this
//! process on 127.0.0.1, with its world in one SQLite database and the human's part on local
//! HTML pages. In `--sandbox` mode the server's tools are simply pointed at it; `sandbox serve`
//! runs it alone for the official CLI, curl or another MCP server.
//!
//! ```text
//! mod.rs      start/serve/reset, the sandbox directory, ids and secrets
//! routes/     the API, one file per area (mirrors src/tools/)
//! store.rs    SQLite: WAL, one immediate transaction per request
//! world.rs    seeded trainers and their behaviour (applications, replies)
//! events.rs   /updates records and signed webhook deliveries (loopback only)
//! pages.rs    the human's pages: claim, approvals, checkout, billing, jobs, profiles
//! clock.rs    sandbox time (advanceable) and ISO timestamps
//! ```

pub mod clock;
pub mod events;
pub mod pages;
pub mod routes;
pub mod store;
pub mod world;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use store::Store;

/// Says "sandbox" in every tool result.
pub const RESULT_PREFIX: &str = "[SANDBOX — simulated OpenTrain on 127.0.0.1: no real people, \
                                 jobs or money]";

/// What an agent reads first in sandbox mode, before the usual instructions.
pub const INSTRUCTIONS: &str = "SANDBOX MODE: every tool talks to a simulated OpenTrain that runs \
inside this server on 127.0.0.1 — the trainers, proposals, payments and approvals are simulated, \
nothing leaves this machine and no real money moves. Links you are given (claim, approvals, \
checkout, billing) open local pages where your human plays their part. Use it to rehearse the \
whole hiring flow.";

/// `${XDG_STATE_HOME:-~/.local/state}/opentrain-mcp/sandbox`.
pub fn default_dir(xdg_state_home: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    let base = match xdg_state_home.filter(|x| Path::new(x).is_absolute()) {
        Some(x) => PathBuf::from(x),
        None => home
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(dirs::home_dir)?
            .join(".local")
            .join("state"),
    };
    Some(base.join("opentrain-mcp").join("sandbox"))
}

/// The sandbox directory from the environment (`XDG_STATE_HOME`, `HOME`).
pub fn default_dir_from_env() -> Option<PathBuf> {
    let var = |k: &str| std::env::var(k).ok();
    default_dir(var("XDG_STATE_HOME").as_deref(), var("HOME").as_deref())
}

/// A running sandbox API.
pub struct Sandbox {
    pub base_url: String,
    pub dir: PathBuf,
    pub store: Arc<Store>,
    server: tokio::task::JoinHandle<()>,
    worker: tokio::task::JoinHandle<()>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
        self.worker.abort();
    }
}

impl Sandbox {
    /// Opens the world in `dir` and serves it on `127.0.0.1:port` (0: a free port) on the
    /// current tokio runtime.
    pub async fn start(dir: &Path, port: u16, seed: Option<u64>) -> Result<Sandbox, String> {
        let dir_owned = dir.to_path_buf();
        let store = tokio::task::spawn_blocking(move || Store::open(&dir_owned, seed))
            .await
            .map_err(|e| format!("cannot open the sandbox world: {e}"))??;
        let store = Arc::new(store);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the sandbox's address: {e}"))?;
        let base_url = format!("http://127.0.0.1:{}", addr.port());
        let wake = Arc::new(Notify::new());
        let app = routes::App::new(store.clone(), base_url.clone(), wake.clone());
        let router = routes::router().merge(pages::router()).with_state(app);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!("sandbox server stopped: {e}");
            }
        });
        let http = events::http_client()?;
        let worker_store = store.clone();
        let worker = tokio::spawn(async move {
            loop {
                events::deliver_due(&worker_store, &http).await;
                let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
            }
        });
        Ok(Sandbox {
            base_url,
            dir: dir.to_path_buf(),
            store,
            server,
            worker,
        })
    }

    /// The sandbox's own credentials file (never `~/.config/opentrain/cli.json`).
    pub fn credentials_path(&self) -> PathBuf {
        credentials_path(&self.dir)
    }
}

pub fn credentials_path(dir: &Path) -> PathBuf {
    dir.join("cli.json")
}

/// `sandbox reset`: a new world with `seed`, and the sandbox's saved credentials removed (they
/// belong to the old world).
pub fn reset(dir: &Path, seed: Option<u64>) -> Result<(), String> {
    let store = Store::open(dir, seed)?;
    store
        .reset(seed.unwrap_or(store::DEFAULT_SEED))
        .map_err(|e| format!("cannot reset the sandbox world: {e}"))?;
    match std::fs::remove_file(credentials_path(dir)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!(
            "the world was reset, but {} could not be removed: {e}",
            credentials_path(dir).display()
        )),
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    use ring::rand::SecureRandom;
    let mut bytes = vec![0u8; n];
    // The OS generator does not fail on supported platforms; zeros would still be unique enough
    // for a request id, never for a secret, so fall back to the clock mixed in.
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        let t = clock::wall_ms() as u64;
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (world::mix(t, i as u64) & 0xff) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A request id shaped like the docs' (a UUID).
pub fn request_id() -> String {
    let h = random_hex(16);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// How secrets (tokens, claim tokens) are kept: only their SHA-256.
pub fn hash(secret: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, secret.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `ot_pat_c3f9********bd21`.
pub fn preview(secret: &str) -> String {
    let rest = secret.strip_prefix("ot_pat_").unwrap_or(secret);
    let head: String = rest.chars().take(4).collect();
    let tail: String = rest
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("ot_pat_{head}********{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_and_previews() {
        assert_eq!(
            default_dir(Some("/s"), Some("/h")).unwrap(),
            PathBuf::from("/s/opentrain-mcp/sandbox")
        );
        assert_eq!(
            default_dir(None, Some("/h")).unwrap(),
            PathBuf::from("/h/.local/state/opentrain-mcp/sandbox")
        );
        assert_eq!(
            preview("ot_pat_c3f91234_abcdefbd21"),
            "ot_pat_c3f9********bd21"
        );
        assert_eq!(request_id().len(), 36);
    }
}
