//! `opentrain-mcp`: flags, logging to stderr, and the stdio or HTTP server (or `doctor`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use opentrain_mcp::config::{self, Config};
use opentrain_mcp::filter::{self, Selection, split_list, truthy};
use opentrain_mcp::log::LogFormat;
use opentrain_mcp::sandbox::{self, Sandbox};
use opentrain_mcp::secret::Known;
use opentrain_mcp::tools::result::format::{ENV_RESULT_FORMAT, ResultFormat};
use opentrain_mcp::transport::http::{self, HttpFlags};
use opentrain_mcp::{OpenTrain, Options, Transport, doctor, serve_stdio};

const HELP: &str = "\
opentrain-mcp — the OpenTrain data-labeling marketplace as an MCP server (stdio or HTTP)

USAGE:
    opentrain-mcp [OPTIONS]           serve MCP over stdin/stdout (what an MCP client runs)
    opentrain-mcp --http ADDR [OPTIONS]
                                      serve MCP over Streamable HTTP at http://ADDR/mcp for many
                                      agents: each request brings its own OpenTrain token
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
    --log-format <f>        text (default) or json: one JSON object per stderr line

REMOTE MODE (README, \"Remote mode\"):
    --http <addr>           listen on ADDR: PORT or :PORT (127.0.0.1), IP:PORT, [IPv6]:PORT;
                            port 0 picks a free one (OPENTRAIN_HTTP_LISTEN). Every request must
                            send Authorization: Bearer ot_pat_… (the caller's own token); this
                            machine's token and credentials file are never used
    --allowed-hosts <a,b>   Host names served besides loopback, e.g. mcp.example.com; '*' any
                            (OPENTRAIN_HTTP_ALLOWED_HOSTS)
    --allowed-origins <a,b> browser Origins allowed besides loopback, e.g.
                            https://app.example.com; '*' any (OPENTRAIN_HTTP_ALLOWED_ORIGINS)
    --cors                  CORS headers for allowed Origins (OPENTRAIN_HTTP_CORS=1)
    --public-url <url>      the URL clients use, for the OAuth metadata (OPENTRAIN_HTTP_PUBLIC_URL)
    --max-concurrent-per-token <n>
                            requests one token may have in flight (default 16; then 429)
                            (OPENTRAIN_HTTP_MAX_CONCURRENT_PER_TOKEN)
    --shutdown-grace <secs> on SIGTERM, how long calls in flight may finish (default 20)
                            (OPENTRAIN_HTTP_SHUTDOWN_GRACE_SECS)
    --single-tenant         every request uses THIS server's token (env or credentials file):
                            loopback only, or callers send OPENTRAIN_HTTP_CLIENT_SECRET as
                            their bearer (OPENTRAIN_HTTP_SINGLE_TENANT=1)

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
    log_format: Option<String>,
    http: HttpFlags,
    /// Arguments that could not be read. Not fatal when serving: see `main`.
    errors: Vec<String>,
}

enum Parsed {
    Run(Box<Cli>),
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
        log_format: None,
        http: HttpFlags::default(),
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
            "--log-format" => cli.log_format = value("--log-format", "json"),
            "--http" => cli.http.listen = value("--http", "127.0.0.1:8080"),
            "--allowed-hosts" => {
                cli.http.allowed_hosts = value("--allowed-hosts", "mcp.example.com")
            }
            "--allowed-origins" => {
                cli.http.allowed_origins = value("--allowed-origins", "https://app.example.com")
            }
            "--public-url" => {
                cli.http.public_url = value("--public-url", "https://mcp.example.com")
            }
            "--max-concurrent-per-token" => {
                cli.http.max_per_token = value("--max-concurrent-per-token", "16")
            }
            "--shutdown-grace" => cli.http.grace = value("--shutdown-grace", "20"),
            "--single-tenant" => cli.http.single_tenant = true,
            "--cors" => cli.http.cors = true,
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
    Parsed::Run(Box::new(cli))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match parse(&args) {
        Parsed::Run(cli) => *cli,
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
    let log_format = match cli.log_format.or_else(|| env("OPENTRAIN_LOG_FORMAT")) {
        Some(raw) => LogFormat::parse(&raw).unwrap_or_else(|e| {
            problems.push(format!("--log-format: {e}"));
            LogFormat::Text
        }),
        None => LogFormat::Text,
    };
    let env_fn = |k: &str| env(k);
    let remote = matches!(cli.command, Command::Serve) && cli.http.wanted(&env_fn);
    if remote {
        // A service has no client to report a bad setting to: it says so and stops.
        let config = match cli.http.resolve(&env_fn) {
            Ok(config) => config,
            Err(e) => {
                problems.push(e);
                return refuse_to_serve(&problems);
            }
        };
        if !problems.is_empty() {
            return refuse_to_serve(&problems);
        }
        return serve_http(
            config,
            cli.sandbox,
            cli.sandbox_dir.as_deref(),
            &selection,
            timeout,
            result_format,
            log_format,
        );
    }
    let http_only = [
        (cli.http.allowed_hosts.is_some(), "--allowed-hosts"),
        (cli.http.allowed_origins.is_some(), "--allowed-origins"),
        (cli.http.public_url.is_some(), "--public-url"),
        (
            cli.http.max_per_token.is_some(),
            "--max-concurrent-per-token",
        ),
        (cli.http.grace.is_some(), "--shutdown-grace"),
        (cli.http.single_tenant, "--single-tenant"),
        (cli.http.cors, "--cors"),
    ];
    for (given, flag) in http_only {
        if given {
            problems.push(format!("{flag} is only for --http"));
        }
    }
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
        opentrain_mcp::log::init(config.known().clone(), log_format, "warn");
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
            transport: Transport::Stdio,
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
            opentrain_mcp::log::init(Arc::new(Known::default()), LogFormat::Text, "warn");
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

fn refuse_to_serve(problems: &[String]) -> ExitCode {
    eprintln!("opentrain-mcp: {}", problems.join("; "));
    ExitCode::from(2)
}

/// `--http`: the Streamable HTTP server until SIGTERM. Any setup problem stops it at start.
fn serve_http(
    http_config: http::HttpConfig,
    sandbox: bool,
    sandbox_dir: Option<&str>,
    selection: &Selection,
    timeout: std::time::Duration,
    result_format: ResultFormat,
    log_format: LogFormat,
) -> ExitCode {
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
    let transport = http_config.transport();
    // In sandbox mode the simulated API runs on this runtime for as long as the server does.
    let mut _sandbox = None;
    let config = if sandbox {
        match start_sandbox(sandbox_dir, &runtime) {
            Ok((config, sb)) => {
                _sandbox = Some(sb);
                config
            }
            Err(e) => return refuse_to_serve(&[format!("the sandbox could not start: {e}")]),
        }
    } else if transport == Transport::Http {
        // Each request brings its token: this machine's env token and credentials file are
        // not even read. Only the API's base URL is configured here.
        let var = |k: &str| std::env::var(k).ok();
        Config::new(None, None, var(config::ENV_BASE_URL).as_deref())
    } else {
        Config::from_env()
    };
    // rmcp says three things at `info` for every stateless request: only its warnings.
    opentrain_mcp::log::init(config.known().clone(), log_format, "info,rmcp=warn");
    if let Err(e) = config.base_url_without_file() {
        return refuse_to_serve(&[e.to_string()]);
    }
    let server = OpenTrain::serving(
        config,
        Options {
            timeout,
            result_format,
            setup_error: None,
            transport,
        },
        selection,
    );
    if let Some(e) = server.setup_error() {
        return refuse_to_serve(&[e.to_owned()]);
    }
    if transport == Transport::HttpSingleTenant
        && let Err(e) = server.config().settings()
    {
        return refuse_to_serve(&[e.to_string()]);
    }
    match runtime.block_on(http::serve(server, http_config)) {
        // As for stdio: do not wait for the runtime to wind down.
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("opentrain-mcp: {e}");
            std::process::exit(1)
        }
    }
}
