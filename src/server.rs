//! The MCP server: identity and instructions, the combined tool router and dispatch. The
//! transports (`transport::stdio`, `transport::http`) carry its messages; over HTTP it answers
//! each request with that request's [`Scope`]: its caller's token and its narrowing headers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, DiscoverResult,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, Implementation,
    InitializeRequestParams, InitializeResult, JsonObject, ListPromptsResult, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, PromptMessage, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, ResourceContents, Role, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;

use crate::api::budget::{self, AnswerHolds};
use crate::api::{ApiError, Auth, Client, Request, Response};
use crate::config::{Config, ConfigError, TokenSource};
use crate::filter::{Disabled, Enabled, Selection};
use crate::guide::{self, PromptDef};
use crate::secret::{Secret, scrub_text};
use crate::tools::result::format::{self, Paging, ResultFormat};
use crate::tools::{self, Toolset};

/// What an agent reads first.
pub const INSTRUCTIONS: &str = "OpenTrain is a data-labeling marketplace: post labeling jobs, \
review proposals from AI trainers, hire, message and pay through milestones. Start with \
opentrain_auth_status to see which account you act for. With no account, call \
opentrain_register_agent, then ask your human for an email and run the claim \
(opentrain_claim_account, then poll opentrain_claim_status); hiring, messaging and money need a \
claimed account. Money never moves from a call: hires, funding, releases and contract ends return \
an approvalUrl a human must confirm. Lists are paginated: pass nextCursor back as cursor.";

/// What an agent reads first from a remote (`--http`) server: no registration or claim here.
pub const REMOTE_INSTRUCTIONS: &str = "OpenTrain is a data-labeling marketplace: post labeling \
jobs, review proposals from AI trainers, hire, message and pay through milestones. This is a \
remote OpenTrain server: every call acts with the OpenTrain token your MCP client sends with it \
(a personal API token a human creates in the OpenTrain app, Settings → API keys). Start with \
opentrain_auth_status to see which account that is. Hiring, messaging and money need a claimed \
account. Money never moves from a call: hires, funding, releases and contract ends return an \
approvalUrl a human must confirm. Lists are paginated: pass nextCursor back as cursor.";

/// Total size of the string content of a call's arguments above which it is refused unread.
pub const MAX_ARGUMENT_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Options {
    /// Per-call HTTP time budget.
    pub timeout: Duration,
    /// What results look like on the wire (`--result-format`).
    pub result_format: ResultFormat,
    /// A start-up error (bad flag, bad env value): the server still serves, so the human sees
    /// the reason through their client, but it is the instructions' first line and the answer to
    /// every call.
    pub setup_error: Option<String>,
    /// What carries the calls, and so whose credentials they use.
    pub transport: Transport,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: crate::api::DEFAULT_TIMEOUT,
            result_format: ResultFormat::default(),
            setup_error: None,
            transport: Transport::Stdio,
        }
    }
}

/// What carries the calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// One agent on stdin/stdout, with this machine's credentials (env > file > none).
    #[default]
    Stdio,
    /// `--http`: every request brings its own bearer token; the server's own credentials are
    /// never used.
    Http,
    /// `--http --single-tenant`: every request uses this server's own credentials.
    HttpSingleTenant,
}

impl Transport {
    pub fn is_http(self) -> bool {
        self != Transport::Stdio
    }
}

/// Whose credentials one request's API calls use. Travels with the server value for that
/// request only ([`OpenTrain::scoped`]); nothing else holds it.
#[derive(Clone, Default)]
pub enum Caller {
    /// This server's configuration: env token > credentials file > none (stdio, single-tenant).
    #[default]
    Configured,
    /// The bearer token of the HTTP request being served.
    Bearer(Secret),
    /// No credentials at all (an HTTP server before a request has said who calls).
    Nobody,
}

/// What one request brings besides its arguments: whose token, and which tools it narrowed the
/// operator's selection to. Built per HTTP request by `transport::http`; stdio has the default.
#[derive(Clone)]
pub struct Scope {
    pub caller: Caller,
    /// The tools this request may see and call (always a subset of the operator's); `None`:
    /// every enabled tool.
    pub narrowed: Option<Arc<Enabled>>,
    /// The HTTP request's span (its `request_id`), for the log lines its call writes: the call
    /// runs on a task of rmcp's, outside the transport's span.
    pub span: tracing::Span,
    /// The answer budget this request's call holds until the HTTP answer has been written (the
    /// transport keeps a clone with the response body); stdio puts its own in each request.
    pub holds: AnswerHolds,
}

impl Default for Scope {
    fn default() -> Scope {
        Scope {
            caller: Caller::default(),
            narrowed: None,
            span: tracing::Span::none(),
            holds: AnswerHolds::default(),
        }
    }
}

impl Scope {
    fn allows(&self, name: &str) -> bool {
        self.narrowed.as_ref().is_none_or(|n| n.contains(name))
    }
}

/// Tools that write this machine's credentials file (registration and the claim): never served
/// over HTTP, where the file is not the caller's.
pub const LOCAL_ONLY_TOOLS: [&str; 3] = [
    "opentrain_register_agent",
    "opentrain_claim_account",
    "opentrain_claim_status",
];

/// The server. Cheap to clone: all state is shared; the [`Scope`] is the one request's.
#[derive(Clone)]
pub struct OpenTrain(pub(crate) Arc<Inner>, pub(crate) Scope);

pub(crate) struct Inner {
    config: Config,
    client: Client,
    /// Every tool, so a call to a disabled one can be told why it is refused.
    router: ToolRouter<OpenTrain>,
    enabled: Enabled,
    /// The enabled tools, sorted by name: what `tools/list` answers.
    tools: Vec<Tool>,
    /// The workflow prompts whose tools are all enabled.
    prompts: Vec<&'static PromptDef>,
    /// Seconds between claim polls: the claim's `interval`, raised by 5 on every `slow_down`.
    pub(crate) claim_interval: AtomicU64,
    /// Checkout links of the top-ups created in this session, so a status check of a PENDING
    /// top-up can repeat the link its answer does not carry.
    pub(crate) checkout_links: tools::credits::CheckoutLinks,
    result_format: ResultFormat,
    setup_error: Option<String>,
    transport: Transport,
}

impl OpenTrain {
    /// A server with every tool enabled.
    pub fn new(config: Config, options: Options) -> OpenTrain {
        let routers = Self::routers();
        let all: Vec<Tool> = routers.iter().flat_map(|(_, r)| r.list_all()).collect();
        let enabled = Enabled::everything(&all);
        Self::build(config, options, routers, enabled)
    }

    /// A server with the tools a selection (toolsets, tools, exclusions, read-only) enables.
    /// An unknown toolset or tool name is an error listing the valid ones.
    pub fn with_selection(
        config: Config,
        options: Options,
        selection: &Selection,
    ) -> Result<OpenTrain, String> {
        let routers = Self::routers();
        let listed: Vec<(Toolset, Vec<Tool>)> = routers
            .iter()
            .map(|(set, r)| (*set, r.list_all()))
            .collect();
        let enabled = selection.resolve(&listed)?;
        Ok(Self::build(config, options, routers, enabled))
    }

    /// The server `main` runs: the tools a selection enables, or, when the selection is bad or
    /// `options.setup_error` is already set, every tool listed and the error served as the
    /// instructions' first line and as the answer to every call (see [`Options::setup_error`]).
    pub fn serving(config: Config, mut options: Options, selection: &Selection) -> OpenTrain {
        let routers = Self::routers();
        let listed: Vec<(Toolset, Vec<Tool>)> = routers
            .iter()
            .map(|(set, r)| (*set, r.list_all()))
            .collect();
        let everything = || {
            Enabled::everything(
                &listed
                    .iter()
                    .flat_map(|(_, t)| t.clone())
                    .collect::<Vec<_>>(),
            )
        };
        let enabled = match (selection.resolve(&listed), &mut options.setup_error) {
            (Ok(enabled), None) => enabled,
            (Ok(_), Some(_)) => everything(),
            (Err(e), error) => {
                *error = Some(match error.take() {
                    Some(first) => format!("{first}; {e}"),
                    None => e,
                });
                everything()
            }
        };
        Self::build(config, options, routers, enabled)
    }

    /// Every toolset with its tools.
    pub fn toolsets() -> Vec<(Toolset, Vec<Tool>)> {
        Self::routers()
            .into_iter()
            .map(|(set, r)| (set, r.list_all()))
            .collect()
    }

    /// Every toolset's router. Building one generates its tools' schemas, so it is done once.
    fn routers() -> Vec<(Toolset, ToolRouter<OpenTrain>)> {
        Toolset::ALL
            .into_iter()
            .map(|set| (set, set.router()))
            .collect()
    }

    fn build(
        config: Config,
        options: Options,
        routers: Vec<(Toolset, ToolRouter<OpenTrain>)>,
        mut enabled: Enabled,
    ) -> OpenTrain {
        if options.transport.is_http() {
            enabled.remove(&LOCAL_ONLY_TOOLS);
        }
        let mut router = ToolRouter::new();
        for (_, routes) in routers {
            router.merge(routes);
        }
        let tools: Vec<Tool> = router
            .list_all()
            .into_iter()
            .filter(|t| enabled.contains(&t.name))
            .collect();
        let prompts = guide::PROMPTS
            .iter()
            .filter(|p| p.needs.iter().all(|name| enabled.contains(name)))
            .collect();
        let client = if config.is_sandbox() {
            Client::direct(options.timeout)
        } else {
            Client::new(options.timeout)
        };
        let scope = Scope {
            caller: match options.transport {
                Transport::Stdio | Transport::HttpSingleTenant => Caller::Configured,
                Transport::Http => Caller::Nobody,
            },
            ..Scope::default()
        };
        OpenTrain(
            Arc::new(Inner {
                config,
                client,
                router,
                enabled,
                tools,
                prompts,
                claim_interval: AtomicU64::new(5),
                checkout_links: Default::default(),
                result_format: options.result_format,
                setup_error: options.setup_error,
                transport: options.transport,
            }),
            scope,
        )
    }

    /// This server answering one request: with that request's caller and narrowing when the
    /// HTTP transport put a [`Scope`] in it, else as it is (stdio).
    pub fn scoped(&self, extensions: &rmcp::model::Extensions) -> OpenTrain {
        match crate::transport::http::scope_of(extensions) {
            Some(scope) => OpenTrain(self.0.clone(), scope),
            None => self.clone(),
        }
    }

    /// The same server with another scope (the HTTP transport and tests).
    pub fn with_scope(&self, scope: Scope) -> OpenTrain {
        OpenTrain(self.0.clone(), scope)
    }

    pub fn transport(&self) -> Transport {
        self.0.transport
    }

    /// The operator's selection (flags and env), before any request narrows it.
    pub fn enabled(&self) -> &Enabled {
        &self.0.enabled
    }

    /// The checkout links remembered for this session; none over HTTP, where memory shared by
    /// every caller is not a session (and another instance would not have it).
    pub(crate) fn checkout_links(&self) -> Option<&tools::credits::CheckoutLinks> {
        (!self.0.transport.is_http()).then_some(&self.0.checkout_links)
    }

    /// The token, its source and the base URL this request's calls use: the configuration's
    /// (env > file) for stdio and single-tenant HTTP; over HTTP, the request's bearer token and
    /// the configured base URL, never the credentials file.
    pub fn settings(&self) -> Result<crate::config::Settings, ConfigError> {
        let token = match &self.1.caller {
            Caller::Configured => return self.config().settings(),
            Caller::Bearer(token) => Some(token.clone()),
            Caller::Nobody => None,
        };
        let (base_url, base_url_origin) = self.config().base_url_without_file()?;
        Ok(crate::config::Settings {
            token_source: if token.is_some() {
                TokenSource::Request
            } else {
                TokenSource::None
            },
            token,
            base_url,
            base_url_origin,
        })
    }

    /// The result for a failure, in this request's terms (see [`tools::failure`]).
    pub fn failure(&self, error: &ApiError) -> CallToolResult {
        self.failure_with(error, None)
    }

    /// [`OpenTrain::failure`] with a tool's own advice for an HTTP error.
    pub fn failure_with(&self, error: &ApiError, hint: Option<String>) -> CallToolResult {
        match (&self.1.caller, error) {
            (Caller::Configured, _) => tools::failure_with(error, self.config(), hint),
            (_, ApiError::NoToken) => tools::refuse(
                "This request carried no OpenTrain token, so nothing was sent. Send \
                 `Authorization: Bearer ot_pat_…` (a personal API token from the OpenTrain app, \
                 Settings → API keys) with every request to this server.",
            ),
            (_, ApiError::Http { status: 401, .. }) => tools::failure_with(
                error,
                self.config(),
                hint.or_else(|| {
                    Some(
                        "The token this request carried (its Authorization header) was \
                         rejected: missing, invalid, expired or revoked. A human mints a new \
                         one in the OpenTrain app (Settings → API keys) and puts it in the MCP \
                         client's configuration for this server."
                            .to_owned(),
                    )
                }),
            ),
            _ => tools::failure_with(error, self.config(), hint),
        }
    }

    /// Whether only read-only tools are served.
    pub fn read_only(&self) -> bool {
        self.0.enabled.read_only()
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn client(&self) -> &Client {
        &self.0.client
    }

    pub fn result_format(&self) -> ResultFormat {
        self.0.result_format
    }

    /// The start-up error this server was built with, if any.
    pub fn setup_error(&self) -> Option<&str> {
        self.0.setup_error.as_deref()
    }

    /// What an agent reads first: the instructions, led by any setup problem (a start-up error,
    /// an unreadable credentials file, a bad base URL), so that every client puts the reason in
    /// front of the model and, through it, the human. Codex shows only the first ~200
    /// characters, so the reason comes first.
    pub fn instructions(&self) -> String {
        let settings = match self.0.transport {
            // The server's own credentials are not what an HTTP caller uses: only the base URL.
            Transport::Http => self.config().base_url_without_file().map(drop),
            _ => self.config().settings().map(drop),
        };
        let problem = match (self.setup_error(), settings) {
            (Some(e), _) => Some(format!(
                "SETUP PROBLEM: opentrain-mcp is misconfigured: {e}. Every OpenTrain tool call \
                 returns this error until your human fixes this MCP server's configuration in \
                 their client and restarts it; tell them. `opentrain-mcp doctor` with the same \
                 flags and environment explains it."
            )),
            (None, Err(e)) => Some(format!(
                "SETUP PROBLEM: {e}. Calls that need the API fail until your human fixes it; \
                 tell them. `opentrain-mcp doctor` explains it."
            )),
            (None, Ok(_)) => None,
        };
        let normal = if self.0.transport == Transport::Http {
            REMOTE_INSTRUCTIONS.to_owned()
        } else if self.config().is_sandbox() {
            format!("{} {INSTRUCTIONS}", crate::sandbox::INSTRUCTIONS)
        } else {
            INSTRUCTIONS.to_owned()
        };
        match problem {
            Some(p) => format!("{p}\n\n{normal}"),
            None => normal,
        }
    }

    /// The tools this server lists, sorted by name.
    pub fn tools(&self) -> &[Tool] {
        &self.0.tools
    }

    /// The tools this request may see: the operator's, narrowed by the request's headers.
    pub fn visible_tools(&self) -> Vec<Tool> {
        match &self.1.narrowed {
            None => self.0.tools.clone(),
            Some(n) => self
                .0
                .tools
                .iter()
                .filter(|t| n.contains(&t.name))
                .cloned()
                .collect(),
        }
    }

    /// The workflow prompts whose tools this request may all call.
    fn visible_prompts(&self) -> impl Iterator<Item = &&'static PromptDef> {
        self.0
            .prompts
            .iter()
            .filter(|p| p.needs.iter().all(|name| self.1.allows(name)))
    }

    /// Sends a request with the current settings (token and base URL).
    ///
    /// A request that sends no token (marketplace search, the claim with an explicit claim
    /// token) does not need the credentials file, so an unreadable or unlocatable file does not
    /// block it: it goes to `OPENTRAIN_API_BASE_URL` or the default instead.
    pub async fn call(&self, req: &Request) -> Result<Response, ApiError> {
        let bearer = match &self.1.caller {
            Caller::Configured => None,
            Caller::Bearer(token) => Some(Some(token)),
            Caller::Nobody => Some(None),
        };
        if let Some(token) = bearer {
            // Over HTTP: the request's own token (never the file's or the env's).
            let (base_url, _) = self.config().base_url_without_file()?;
            let known = self.config().known().snapshot();
            return self.client().send(&base_url, req, token, &known).await;
        }
        let (base_url, token) = match self.config().settings() {
            Ok(settings) => (settings.base_url, settings.token),
            Err(
                e @ (ConfigError::Corrupt { .. } | ConfigError::Io { .. } | ConfigError::NoHome),
            ) if req.auth == Auth::None => {
                let (base_url, origin) = self.config().base_url_without_file()?;
                tracing::warn!(
                    "{e}; {} needs no token, so it goes to {origin}",
                    req.template
                );
                (base_url, None)
            }
            Err(e) => return Err(e.into()),
        };
        let known = self.config().known().snapshot();
        self.client()
            .send(&base_url, req, token.as_ref(), &known)
            .await
    }

    /// Sends a request and shapes the result: `summarize` turns the answer into the text block.
    pub async fn run(
        &self,
        req: Request,
        summarize: impl FnOnce(&Value) -> String,
    ) -> CallToolResult {
        self.run_status(req, |_, body| summarize(body)).await
    }

    /// [`OpenTrain::run`], with the answer's HTTP status for the summary (a co-signed request
    /// answers 202 when a human must confirm).
    pub async fn run_status(
        &self,
        req: Request,
        summarize: impl FnOnce(u16, &Value) -> String,
    ) -> CallToolResult {
        match self.call(&req).await {
            Ok(response) => tools::ok(summarize(response.status, &response.body), response.body),
            Err(e) => self.failure(&e),
        }
    }

    /// Dispatches one tool call (what `tools/call` does), for the MCP handler and for tests. In
    /// sandbox mode every result's text starts with a line saying so.
    pub async fn call_tool_by_name(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        if let Some(error) = self.setup_error() {
            return Ok(tools::refuse(format!(
                "opentrain-mcp is misconfigured, so nothing was sent: {error}. Tell your human: \
                 they must fix this MCP server's configuration (its flags or environment) in their \
                 client and restart it; `opentrain-mcp doctor` with the same flags and environment \
                 explains it."
            ))
            .into());
        }
        let own = tools::argument_secrets(request.arguments.as_ref());
        // Keys the tool does not take (a client's own, a model's typo) are never sent.
        let mut request = request;
        let mut ignored = Vec::new();
        let mut paging = Paging::default();
        if let Some(tool) = self.0.router.get(&name) {
            paging = Paging::of(&tool.input_schema);
            // Oversized arguments are refused whole in `dispatch`, unknown keys included.
            if let Some(arguments) = request.arguments.as_mut()
                && argument_bytes(arguments) <= MAX_ARGUMENT_BYTES
            {
                ignored = tools::unknown::strip(arguments, &tool.input_schema);
            }
        }
        self.refresh_config().await;
        let in_flight = crate::metrics::call_started();
        let started = std::time::Instant::now();
        // The answer budget this call's answers take stays held until the transport has
        // written the result (stdio puts `holds` in the request); a cancelled call stops at once.
        let holds = context
            .extensions
            .get::<AnswerHolds>()
            .cloned()
            .unwrap_or_else(|| self.1.holds.clone());
        let cancelled = context.ct.clone();
        let mut response = tokio::select! {
            response = budget::collecting(holds, self.dispatch(name.clone(), request, context)) => response,
            () = cancelled.cancelled() => Err(McpError::internal_error("the call was cancelled", None)),
        };
        crate::metrics::tool_call(
            &name,
            !matches!(&response, Ok(CallToolResponse::Complete(r)) if r.is_error != Some(true)),
            started.elapsed(),
        );
        drop(in_flight);
        // What the configuration knows (including what it learned during this call) and what
        // this call carries: masked in whatever it returns.
        let known = self.config().known().snapshot();
        let bearer = match &self.1.caller {
            Caller::Bearer(token) => Some(token),
            _ => None,
        };
        let secrets: Vec<&Secret> = known.iter().chain(&own).chain(bearer).collect();
        match &mut response {
            Ok(CallToolResponse::Complete(result)) => {
                tools::mask_result(result, &secrets);
                // The one place every tool's result is shaped for the wire.
                format::apply(result, self.0.result_format, paging);
                if let Some(note) = tools::unknown::note(&ignored) {
                    tools::result::append_text(result, &note);
                }
                if self.config().is_sandbox() {
                    mark_sandbox(result);
                }
            }
            Ok(_) => {}
            Err(error) => {
                if let Some(clean) = scrub_text(&error.message, &secrets) {
                    error.message = clean.into();
                }
            }
        }
        response
    }

    async fn dispatch(
        &self,
        name: String,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if let Some(arguments) = &request.arguments {
            let size = argument_bytes(arguments);
            if size > MAX_ARGUMENT_BYTES {
                return Ok(tools::refuse(format!(
                    "The arguments of {name} are {size} bytes, over the {} KiB limit; nothing was \
                     sent. Shorten them.",
                    MAX_ARGUMENT_BYTES / 1024
                ))
                .into());
            }
        }
        if self.0.transport.is_http() && LOCAL_ONLY_TOOLS.contains(&name.as_str()) {
            return Ok(tools::refuse(format!(
                "{name} is not served over HTTP: it writes a credentials file on the machine \
                 this server runs on, which is not yours. Nothing was sent. Use a personal API \
                 token from the OpenTrain app (Settings → API keys), sent as `Authorization: \
                 Bearer …` by your MCP client; or run opentrain-mcp locally (stdio) to register \
                 an agent account."
            ))
            .into());
        }
        if let Some(tool) = self.0.router.get(&name)
            && let Some(why) = self.0.enabled.why_disabled(tool)
        {
            return Ok(tools::refuse(match why {
                Disabled::ReadOnly => format!(
                    "{name} is disabled: this server runs in read-only mode ({} / \
                     --read-only), so only tools that change nothing can be called. Nothing \
                     was sent.",
                    crate::filter::ENV_READ_ONLY
                ),
                Disabled::NotSelected => format!(
                    "{name} is not enabled on this server (its toolsets, --tools and \
                     --exclude-tools settings leave it out). Nothing was sent."
                ),
            })
            .into());
        }
        if self.0.router.get(&name).is_some() && !self.1.allows(&name) {
            return Ok(tools::refuse(format!(
                "{name} is not enabled for this request: its X-OpenTrain-Toolsets, \
                 X-OpenTrain-Tools, X-OpenTrain-Exclude-Tools or X-OpenTrain-Read-Only headers \
                 leave it out. Nothing was sent."
            ))
            .into());
        }
        let started = std::time::Instant::now();
        let response = self
            .0
            .router
            .call(ToolCallContext::new(self, request, context))
            .await?;
        Ok(match response {
            CallToolResponse::Complete(mut result) => {
                tools::rewrite_argument_error(&name, &mut result);
                tracing::debug!(
                    "{name}: {} in {} ms",
                    if result.is_error == Some(true) {
                        "error"
                    } else {
                        "ok"
                    },
                    started.elapsed().as_millis()
                );
                result.into()
            }
            other => other,
        })
    }
}

/// Puts the sandbox line in front of a result's first text block.
fn mark_sandbox(result: &mut CallToolResult) {
    let prefix = crate::sandbox::RESULT_PREFIX;
    for block in result.content.iter_mut() {
        if let Some(text) = block.as_text() {
            *block = rmcp::model::ContentBlock::text(format!("{prefix}\n{}", text.text));
            return;
        }
    }
    result
        .content
        .insert(0, rmcp::model::ContentBlock::text(prefix));
}

/// Bytes of string content (keys and values) in a JSON object, without serializing it.
fn argument_bytes(arguments: &JsonObject) -> usize {
    fn size(v: &Value) -> usize {
        match v {
            Value::String(s) => s.len(),
            Value::Array(items) => items.iter().map(size).sum::<usize>() + items.len(),
            Value::Object(map) => map.iter().map(|(k, v)| k.len() + size(v)).sum(),
            _ => 8,
        }
    }
    arguments.iter().map(|(k, v)| k.len() + size(v)).sum()
}

impl OpenTrain {
    /// Reads the credentials file on a blocking thread when it changed, so the tool that runs
    /// next finds it cached: this server's one runtime thread never waits on the file system for
    /// more than a `stat`.
    pub async fn refresh_config(&self) {
        if self.config().is_cached() {
            return;
        }
        let server = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let _ = server.config().read();
        })
        .await;
    }

    /// `text` with every credential the configuration knows masked (resources, prompts, doctor).
    pub fn masked(&self, text: String) -> String {
        let known = self.config().known().snapshot();
        let mut refs: Vec<&Secret> = known.iter().collect();
        if let Caller::Bearer(token) = &self.1.caller {
            refs.push(token);
        }
        scrub_text(&text, &refs).unwrap_or(text)
    }

    /// The `opentrain://config` resource: where credentials come from, the base URL, the token's
    /// prefix only, and what is enabled. Over HTTP: the request's token (its prefix only) and the
    /// base URL; this machine's credentials file is none of the caller's business.
    pub fn config_report(&self) -> Value {
        let mut report = if matches!(self.1.caller, Caller::Configured) {
            self.local_report()
        } else {
            serde_json::json!({
                "transport": "http",
                "readOnly": self.read_only(),
                "enabledTools": self.visible_tools().len(),
                "httpTimeoutSeconds": self.client().timeout().as_secs(),
                "resultFormat": self.result_format().name(),
                "setupError": self.setup_error(),
                "version": env!("CARGO_PKG_VERSION"),
            })
        };
        match self.settings() {
            Ok(s) => {
                report["tokenSource"] = Value::String(match &s.token_source {
                    TokenSource::Env => crate::config::ENV_TOKEN.to_owned(),
                    TokenSource::File(p) => p.display().to_string(),
                    TokenSource::Request => "this request's Authorization header".to_owned(),
                    TokenSource::None => "none".to_owned(),
                });
                report["tokenPrefix"] = s
                    .token
                    .as_ref()
                    .map(|t| Value::String(t.prefix()))
                    .unwrap_or(Value::Null);
                report["baseUrl"] = Value::String(s.base_url.as_str().trim_end_matches('/').into());
                report["baseUrlFrom"] = Value::String(s.base_url_origin);
            }
            Err(e) => report["error"] = Value::String(e.to_string()),
        }
        report
    }

    /// The local part of the config resource: the credentials file and what is enabled.
    fn local_report(&self) -> Value {
        let config = self.config();
        let file = config.path().map(|p| p.display().to_string());
        let file_status = match config.read() {
            Ok(creds) if creds.exists => "present".to_owned(),
            Ok(_) => "absent".to_owned(),
            Err(e) => format!("unreadable: {e}"),
        };
        let mut report = serde_json::json!({
            "credentialsFile": file,
            "credentialsFileStatus": file_status,
            "readOnly": self.read_only(),
            "enabledTools": self.tools().len(),
            "httpTimeoutSeconds": self.client().timeout().as_secs(),
            "resultFormat": self.result_format().name(),
            "setupError": self.setup_error(),
            "version": env!("CARGO_PKG_VERSION"),
        });
        if config.is_sandbox() {
            report["sandbox"] = Value::Bool(true);
        }
        report
    }
}

/// Clients that show a refused handshake's message to their human and their model, so a server
/// with a setup error refuses theirs rather than serving the error (measured with Claude Code
/// 2.1.332: `claude mcp list` and `/mcp` show "✘ Failed to connect — -32603: <message>", and the
/// model is told the server failed with that message). Gemini CLI shows only "Disconnected" and
/// Codex nothing, so every other client gets the served error (see [`Options::setup_error`]).
const SHOW_HANDSHAKE_ERRORS: &[&str] = &["claude-code"];

impl OpenTrain {
    /// The error a setup problem makes of a handshake from `client`, if that client shows it.
    fn refuse_handshake(&self, client: Option<&str>) -> Option<McpError> {
        let error = self.setup_error()?;
        let client = client?;
        if !SHOW_HANDSHAKE_ERRORS.contains(&client) {
            return None;
        }
        tracing::info!("refusing {client}'s handshake: it shows the reason to its human");
        Some(McpError::internal_error(
            format!(
                "opentrain-mcp is misconfigured: {error}. Fix its flags or environment in this \
                 client's MCP configuration; `opentrain-mcp doctor` with the same flags explains it."
            ),
            None,
        ))
    }
}

impl ServerHandler for OpenTrain {
    async fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, McpError> {
        let client = context.meta.client_info().map(|c| c.name);
        if let Some(refusal) = self.refuse_handshake(client.as_deref()) {
            return Err(refusal);
        }
        Ok(DiscoverResult::from_server_info(
            self.supported_protocol_versions().into_owned(),
            self.get_info(),
        ))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        if let Some(refusal) = self.refuse_handshake(Some(request.client_info.name.as_str())) {
            return Err(refusal);
        }
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .build(),
        )
        .with_server_info(
            Implementation::new("opentrain", env!("CARGO_PKG_VERSION"))
                .with_title("OpenTrain")
                .with_description(
                    "OpenTrain data-labeling marketplace: jobs, proposals, hiring, messages, \
                         contracts, credits, webhooks",
                ),
        )
        .with_instructions(self.instructions())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let this = self.scoped(&context.extensions);
        Ok(ListToolsResult::with_all_items(this.visible_tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        use tracing::Instrument;
        let this = self.scoped(&context.extensions);
        let span = this.1.span.clone();
        this.call_tool_by_name(request, context)
            .instrument(span)
            .await
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let this = self.scoped(&context.extensions);
        Ok(ListPromptsResult::with_all_items(
            this.visible_prompts().map(|p| p.prompt()).collect(),
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let this = self.scoped(&context.extensions);
        let Some(prompt) = this.visible_prompts().find(|p| p.name == request.name) else {
            return Err(McpError::invalid_params(
                format!("unknown prompt {:?}", request.name),
                None,
            ));
        };
        let args: BTreeMap<String, String> = request
            .arguments
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect();
        for (name, _, required) in prompt.arguments {
            if *required && args.get(*name).is_none_or(|v| v.trim().is_empty()) {
                return Err(McpError::invalid_params(
                    format!("prompt {} needs the argument {name}", prompt.name),
                    None,
                ));
            }
        }
        let text = this.masked((prompt.render)(&args));
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(prompt.description)
                .into(),
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(guide::resources()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let this = self.scoped(&context.extensions);
        let uri = request.uri.as_str();
        if uri == guide::CONFIG_URI {
            this.refresh_config().await;
        }
        let (text, mime) = match uri {
            guide::GUIDE_URI => (guide::GUIDE.to_owned(), "text/markdown"),
            guide::EVENTS_URI => (guide::EVENTS.to_owned(), "text/markdown"),
            guide::CONFIG_URI => (
                this.masked(
                    serde_json::to_string_pretty(&this.config_report()).unwrap_or_default(),
                ),
                "application/json",
            ),
            _ => {
                return Err(McpError::resource_not_found(
                    format!(
                        "no resource {uri:?}; there are {}, {} and {}",
                        guide::GUIDE_URI,
                        guide::EVENTS_URI,
                        guide::CONFIG_URI
                    ),
                    // SEP-2164: the error repeats the URI it could not find.
                    Some(serde_json::json!({ "uri": uri })),
                ));
            }
        };
        Ok(
            ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type(mime)])
                .into(),
        )
    }
}
