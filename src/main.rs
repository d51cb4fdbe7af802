//! `opentrain-mcp`: flags, logging to stderr, and the stdio server.

use std::io::Write;
use std::process::ExitCode;

use opentrain_mcp::config::{self, Config};
use opentrain_mcp::secret::RedactingWriter;
use opentrain_mcp::{OpenTrain, Options, serve_stdio};

const HELP: &str = "\
opentrain-mcp — the OpenTrain data-labeling marketplace as an MCP server (stdio)

USAGE:
    opentrain-mcp              serve MCP over stdin/stdout (what an MCP client runs)
    opentrain-mcp --help       print this help
    opentrain-mcp --version    print the version

SET UP (Claude Code):
    claude mcp add opentrain -- opentrain-mcp
    claude mcp add opentrain -e OPENTRAIN_PERSONAL_API_TOKEN=ot_pat_... -- opentrain-mcp

ENVIRONMENT:
    OPENTRAIN_PERSONAL_API_TOKEN  personal API token (ot_pat_...); wins over the credentials file
    OPENTRAIN_API_BASE_URL        API origin (default https://app.opentrain.ai)
    OPENTRAIN_HTTP_TIMEOUT_SECS   time budget per call, retries included (default 30)
    RUST_LOG                      log filter for stderr, e.g. debug or opentrain_mcp=debug

CREDENTIALS FILE (shared with the official OpenTrain CLI):
    ${XDG_CONFIG_HOME:-~/.config}/opentrain/cli.json
    Without a token, call the opentrain_register_agent tool to create an agent account.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => {}
        Some("-h" | "--help" | "help") => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Some("-V" | "--version" | "version") => {
            println!("opentrain-mcp {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("opentrain-mcp: unknown argument {other:?}; see opentrain-mcp --help");
            return ExitCode::from(2);
        }
    }

    init_logging();
    let timeout = match opentrain_mcp::timeout_from_env(
        std::env::var(opentrain_mcp::ENV_TIMEOUT).ok().as_deref(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("opentrain-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    let config = Config::from_env();
    tracing::info!(
        "opentrain-mcp {} starting; credentials file {}{}",
        env!("CARGO_PKG_VERSION"),
        config
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(unknown: no HOME)".into()),
        if config.env_token().is_some() {
            format!(" (ignored for calls: {} is set)", config::ENV_TOKEN)
        } else {
            String::new()
        }
    );
    let server = OpenTrain::new(config, Options { timeout });
    tracing::info!("serving {} tools over stdio", server.tools().len());

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("opentrain-mcp: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve_stdio(server));
    let _ = std::io::stdout().flush();
    // Exit without waiting for the runtime to wind down: a blocking stdin read or a hung HTTP
    // call must not keep the process alive after the client has gone.
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("opentrain-mcp: {e}");
            std::process::exit(1)
        }
    }
}

/// Logs go to stderr only (stdout carries JSON-RPC), through a writer that masks credentials.
fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;

    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| {
            "warn,opentrain_mcp=info"
                .parse::<Targets>()
                .unwrap_or_default()
        });
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(|| RedactingWriter(std::io::stderr()));
    tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .init();
}
