//! `opentrain-mcp`: flags, logging to stderr, and the stdio server (or `doctor`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use opentrain_mcp::config::{self, Config};
use opentrain_mcp::filter::{self, Selection, split_list, truthy};
use opentrain_mcp::sandbox::{self, Sandbox};
use opentrain_mcp::secret::{Known, RedactingWriter};
use opentrain_mcp::tools::result::format::{ENV_RESULT_FORMAT, ResultFormat};
use opentrain_mcp::{OpenTrain, Options, doctor, serve_stdio};

const HELP: &str = "\
opentrain-mcp — the OpenTrain data-labeling marketplace as an MCP server (stdio)

USAGE:
    opentrain-mcp [OPTIONS]           serve MCP over stdin/stdout (what an MCP client runs)
    opentrain-mcp doctor [OPTIONS]    check the setup: credentials, token, base URL, API, tools
    opentrain-mcp demo                watch an agent hire through the sandbox (no account, offline)
    opentrain-mcp sandbox serve [--port N] [--sandbox-dir DIR] [--seed N]
                                      run the simulated OpenTrain API alone on 127.0.0.1:N
    opentrain-mcp sandbox reset [--sandbox-dir DIR] [--seed N]
                                      start the sandbox's world over
    opentrain-mcp --help | --version

OPTIONS (each also read from an environment variable; a flag wins):
    --toolsets <a,b>        only these toolsets, plus auth (OPENTRAIN_TOOLSETS); default all:
                            auth jobs proposals messages contracts credits updates webhooks
                            tokens team payments
    --tools <a,b>           add single tools, with or without the opentrain_ prefix
                            (OPENTRAIN_TOOLS); alone, they are added to auth only
    --exclude-tools <a,b>   remove tools, whatever else says (OPENTRAIN_EXCLUDE_TOOLS)
    --read-only             only tools that change nothing (OPENTRAIN_READ_ONLY=1)
    --result-format <f>     text (default): the summary, then the API's answer as JSON, in the
                            text every client shows its model; structured: the summary as text
                            and the answer as structuredContent (OPENTRAIN_RESULT_FORMAT)
    --sandbox               serve against the embedded sandbox on 127.0.0.1 instead of OpenTrain:
                            simulated trainers, payments and approvals; nothing leaves the
                            machine; OPENTRAIN_PERSONAL_API_TOKEN and cli.json are not used
    --sandbox-dir <dir>     the sandbox's world and credentials (implies --sandbox); default
                            ${XDG_STATE_HOME:-~/.local/state}/opentrain-mcp/sandbox

A bad flag or value does not stop the server when a client runs it: the client is told the
reason (a refused handshake for Claude Code; for others, the instructions and every call's
answer). `doctor` with the same flags explains it.

SET UP (with a token; without one, leave out the -e/--env part; other clients: README):
    claude mcp add opentrain -e OPENTRAIN_PERSONAL_API_TOKEN=ot_pat_... -- opentrain-mcp
    codex mcp add opentrain --env OPENTRAIN_PERSONAL_API_TOKEN=ot_pat_... -- opentrain-mcp
    gemini mcp add opentrain opentrain-mcp -e OPENTRAIN_PERSONAL_API_TOKEN=ot_pat_...
    claude mcp add opentrain-sandbox -- opentrain-mcp --sandbox

ENVIRONMENT:
    OPENTRAIN_PERSONAL_API_TOKEN  personal API token (ot_pat_...); wins over the credentials file
    OPENTRAIN_API_BASE_URL        API origin (default https://app.opentrain.ai)
    OPENTRAIN_HTTP_TIMEOUT_SECS   time budget per call, retries included (default 30)
    RUST_LOG                      log filter for stderr (default warn), e.g. info or debug

CREDENTIALS FILE (shared with the official OpenTrain CLI):
    ${XDG_CONFIG_HOME:-~/.config}/opentrain/cli.json
    Without a token, call the opentrain_register_agent tool to create an agent account.
";

enum Command {
    Serve,
    Doctor,
    Demo,
    SandboxServe,
    SandboxReset,
}

struct Cli {
    command: Command,
    toolsets: Option<String>,
    tools: Option<String>,
    exclude: Option<String>,
    read_only: bool,
    sandbox: bool,
    sandbox_dir: Option<String>,
    port: Option<u16>,
    seed: Option<u64>,
    result_format: Option<String>,
    /// Arguments that could not be read. Not fatal when serving: see `main`.
    errors: Vec<String>,
}

enum Parsed {
    Run(Cli),
    Exit(ExitCode),
}

fn parse(args: &[String]) -> Parsed {
    let mut cli = Cli {
        command: Command::Serve,
        toolsets: None,
        tools: None,
        exclude: None,
        read_only: false,
        sandbox: false,
        sandbox_dir: None,
        port: None,
        seed: None,
        result_format: None,
        errors: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let first = i == 0;
        let arg = args[i].as_str();
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg, None),
        };
        let mut errors = Vec::new();
        let mut value = |name: &str, example: &str| -> Option<String> {
            if let Some(v) = inline.clone() {
                return Some(v);
            }
            i += 1;
            let v = args.get(i).cloned();
            if v.is_none() {
                errors.push(format!("{name} needs a value, e.g. {name} {example}"));
            }
            v
        };
        match flag {
            "-h" | "--help" | "help" => {
                print!("{HELP}");
                return Parsed::Exit(ExitCode::SUCCESS);
            }
            "-V" | "--version" | "version" => {
                println!("opentrain-mcp {}", env!("CARGO_PKG_VERSION"));
                return Parsed::Exit(ExitCode::SUCCESS);
            }
            "doctor" if first => cli.command = Command::Doctor,
            "demo" if first => cli.command = Command::Demo,
            "sandbox" if first => {
                i += 1;
                cli.command = match args.get(i).map(String::as_str) {
                    Some("serve") => Command::SandboxServe,
                    Some("reset") => Command::SandboxReset,
                    _ => {
                        errors
                            .push("sandbox needs serve or reset; see opentrain-mcp --help".into());
                        Command::Serve
                    }
                };
            }
            "--sandbox" => cli.sandbox = true,
            "--sandbox-dir" => cli.sandbox_dir = value("--sandbox-dir", "/tmp/sandbox"),
            "--port" => {
                if let Some(v) = value("--port", "3000") {
                    match v.parse() {
                        Ok(port) => cli.port = Some(port),
                        Err(_) => errors.push(format!("--port {v:?} is not a port number")),
                    }
                }
            }
            "--seed" => {
                if let Some(v) = value("--seed", "7") {
                    match v.parse() {
                        Ok(seed) => cli.seed = Some(seed),
                        Err(_) => errors.push(format!("--seed {v:?} is not a whole number")),
                    }
                }
            }
            "--toolsets" => cli.toolsets = value("--toolsets", "jobs,credits"),
            "--tools" => cli.tools = value("--tools", "list_jobs,get_credits"),
            "--exclude-tools" => cli.exclude = value("--exclude-tools", "revoke_token"),
            "--read-only" => cli.read_only = true,
            "--result-format" => cli.result_format = value("--result-format", "text"),
            other => errors.push(format!(
                "unknown argument {:?}; see opentrain-mcp --help",
                opentrain_mcp::text::truncate_chars(other, 60)
            )),
        }
        cli.errors.append(&mut errors);
        i += 1;
    }
    let sandbox_command = matches!(cli.command, Command::SandboxServe | Command::SandboxReset);
    if cli.port.is_some() && !matches!(cli.command, Command::SandboxServe) {
        cli.errors.push("--port is only for `sandbox serve`".into());
    }
    if cli.seed.is_some() && !sandbox_command {
        cli.errors
            .push("--seed is only for `sandbox serve` and `sandbox reset`".into());
    }
    cli.sandbox |= cli.sandbox_dir.is_some();
    Parsed::Run(cli)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match parse(&args) {
        Parsed::Run(cli) => cli,
        Parsed::Exit(code) => return code,
    };

    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let selection = Selection {
        toolsets: cli
            .toolsets
            .or_else(|| env(filter::ENV_TOOLSETS))
            .map(|s| split_list(&s)),
        tools: split_list(
            &cli.tools
                .or_else(|| env(filter::ENV_TOOLS))
                .unwrap_or_default(),
        ),
        exclude: split_list(
            &cli.exclude
                .or_else(|| env(filter::ENV_EXCLUDE_TOOLS))
                .unwrap_or_default(),
        ),
        read_only: cli.read_only || env(filter::ENV_READ_ONLY).is_some_and(|v| truthy(&v)),
    };

    // Start-up errors are collected, not fatal: a client that runs a server which exits shows
    // its human only "connection closed" (Claude Code, Gemini CLI) or nothing (Codex), so the
    // server reports the error to the client instead (see `Options::setup_error`).
    let mut problems = cli.errors;
    let timeout = opentrain_mcp::timeout_from_env(env(opentrain_mcp::ENV_TIMEOUT).as_deref())
        .unwrap_or_else(|e| {
            problems.push(e);
            opentrain_mcp::api::DEFAULT_TIMEOUT
        });
    let result_format = match (cli.result_format, env(ENV_RESULT_FORMAT)) {
        (Some(raw), _) => ResultFormat::parse(&raw).map_err(|e| format!("--result-format: {e}")),
        (None, Some(raw)) => {
            ResultFormat::parse(&raw).map_err(|e| format!("{ENV_RESULT_FORMAT}: {e}"))
        }
        (None, None) => Ok(ResultFormat::default()),
    }
    .unwrap_or_else(|e| {
        problems.push(e);
        ResultFormat::default()
    });
    if !matches!(cli.command, Command::Serve | Command::Doctor) && !problems.is_empty() {
        // `demo` and `sandbox …` are typed by a human: just say it.
        eprintln!("opentrain-mcp: {}", problems.join("; "));
        return ExitCode::from(2);
    }
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
    if let Some(code) = run_sandbox_command(
        &cli.command,
        cli.sandbox_dir.as_deref(),
        cli.port,
        cli.seed,
        &runtime,
    ) {
        return code;
    }
    // In sandbox mode the simulated API runs on this runtime for as long as the server does.
    let (config, sandbox) = if cli.sandbox {
        match start_sandbox(cli.sandbox_dir.as_deref(), &runtime) {
            Ok((config, sandbox)) => (config, Some(sandbox)),
            Err(e) => {
                // Reported like any start-up error; no call is sent anywhere meanwhile.
                problems.push(format!("the sandbox could not start: {e}"));
                (Config::from_env(), None)
            }
        }
    } else {
        (Config::from_env(), None)
    };
    // Before logging starts: the log writer masks every credential the configuration knows.
    if matches!(cli.command, Command::Serve) {
        init_logging(config.known().clone());
    }
    if let Some(sb) = &sandbox {
        tracing::info!(
            "SANDBOX mode: simulated OpenTrain at {} (world and credentials in {}); the human's \
             pages start at {}/",
            sb.base_url,
            sb.dir.display(),
            sb.base_url
        );
    }
    let problems = (!problems.is_empty()).then(|| problems.join("; "));
    let server = OpenTrain::serving(
        config,
        Options {
            timeout,
            result_format,
            setup_error: problems,
        },
        &selection,
    );
    let setup_error = server.setup_error().map(str::to_owned);
    if let Some(error) = &setup_error
        && matches!(cli.command, Command::Serve)
        && std::io::stdin().is_terminal()
    {
        // A human at a terminal, not a client: just say it.
        eprintln!("opentrain-mcp: {error}");
        return ExitCode::from(2);
    }

    if matches!(cli.command, Command::Doctor) {
        let total = OpenTrain::toolsets().iter().map(|(_, t)| t.len()).sum();
        let checks = runtime.block_on(doctor::run(&server, total));
        let (report, ok) = doctor::render(&checks);
        print!("{report}");
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }

    match &setup_error {
        Some(e) => tracing::error!(
            "opentrain-mcp: {e}. Reporting it to the client instead of serving the tools; \
             `opentrain-mcp doctor` explains it."
        ),
        None => log_start(&server, &selection),
    }
    let result = runtime.block_on(serve_stdio(server));
    let _ = std::io::stdout().flush();
    // Exit without waiting for the runtime to wind down: a blocking stdin read or a hung HTTP
    // call must not keep the process alive after the client has gone.
    match result {
        Ok(()) if setup_error.is_some() => std::process::exit(2),
        Ok(()) => std::process::exit(0),
        // A refused handshake (see `OpenTrain::refuse_handshake`) ends here too.
        Err(e) if setup_error.is_some() => {
            tracing::debug!("{e}");
            std::process::exit(2)
        }
        Err(e) => {
            eprintln!("opentrain-mcp: {e}");
            std::process::exit(1)
        }
    }
}

/// The sandbox directory: `--sandbox-dir`, else the default under XDG_STATE_HOME.
fn sandbox_dir(flag: Option<&str>) -> Result<PathBuf, String> {
    match flag {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => sandbox::default_dir_from_env().ok_or_else(|| {
            "cannot locate the sandbox directory: set XDG_STATE_HOME or HOME, or pass \
             --sandbox-dir"
                .to_owned()
        }),
    }
}

fn start_sandbox(
    flag: Option<&str>,
    runtime: &tokio::runtime::Runtime,
) -> Result<(Config, Sandbox), String> {
    let dir = sandbox_dir(flag)?;
    let sandbox = runtime.block_on(Sandbox::start(&dir, 0, None))?;
    Ok((Config::sandbox(&dir, &sandbox.base_url), sandbox))
}

/// `demo`, `sandbox serve` and `sandbox reset`; None for the other commands.
fn run_sandbox_command(
    command: &Command,
    dir: Option<&str>,
    port: Option<u16>,
    seed: Option<u64>,
    runtime: &tokio::runtime::Runtime,
) -> Option<ExitCode> {
    let result = match command {
        Command::Demo => {
            let mut out = std::io::stdout();
            runtime.block_on(opentrain_mcp::demo::run(&mut out))
        }
        Command::SandboxReset => sandbox_dir(dir).and_then(|dir| {
            sandbox::reset(&dir, seed)?;
            println!(
                "The sandbox world in {} starts over (seed {}); its saved credentials were removed.",
                dir.display(),
                seed.unwrap_or(sandbox::store::DEFAULT_SEED)
            );
            Ok(())
        }),
        Command::SandboxServe => sandbox_dir(dir).and_then(|dir| {
            init_logging(Arc::new(Known::default()));
            runtime.block_on(async {
                let sb = Sandbox::start(&dir, port.unwrap_or(0), seed).await?;
                let mut out = std::io::stdout();
                // A closed stdout must not stop the server: no println!.
                let _ = writeln!(
                    out,
                    "OpenTrain sandbox API on {url} (world in {dir}). Nothing leaves this machine.\n\
                     Point a client at it:   OPENTRAIN_API_BASE_URL={url}\n\
                     The human's pages:      {url}/\n\
                     Stop with Ctrl-C.",
                    url = sb.base_url,
                    dir = dir.display()
                );
                let _ = out.flush();
                std::future::pending::<()>().await;
                Ok(())
            })
        }),
        _ => return None,
    };
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("opentrain-mcp: {e}");
            ExitCode::FAILURE
        }
    })
}

fn log_start(server: &OpenTrain, selection: &Selection) {
    let config = server.config();
    // Read once now (it never blocks: see Config::read), so a file others can read, or one that
    // cannot be used, is reported at start rather than at the first call.
    let _ = config.read();
    tracing::info!(
        "opentrain-mcp {} starting ({} results); credentials file {}{}",
        env!("CARGO_PKG_VERSION"),
        server.result_format().name(),
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
    let mut how = Vec::new();
    if let Some(sets) = &selection.toolsets {
        how.push(format!("toolsets auth,{}", sets.join(",")));
    }
    if !selection.tools.is_empty() {
        how.push(format!("tools {}", selection.tools.join(",")));
    }
    if !selection.exclude.is_empty() {
        how.push(format!("excluding {}", selection.exclude.join(",")));
    }
    if selection.read_only {
        how.push("read-only".to_owned());
    }
    tracing::info!(
        "serving {} tools over stdio{}",
        server.tools().len(),
        if how.is_empty() {
            String::new()
        } else {
            format!(" ({})", how.join("; "))
        }
    );
}

/// Logs go to stderr only (stdout carries JSON-RPC), through a writer that masks credentials.
fn init_logging(known: Arc<Known>) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;

    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| s.parse::<Targets>().ok())
        // Warnings and errors only: clients such as Claude Code log every stderr line as an
        // error, so a healthy start writes nothing.
        .unwrap_or_else(|| "warn".parse::<Targets>().unwrap_or_default());
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || RedactingWriter::new(std::io::stderr(), Some(known.clone())));
    tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .init();
}
