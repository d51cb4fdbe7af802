//! Packaging (issue 13): every install route ships what we test, and installs without a Rust
//! toolchain.
//!
//! - crates.io: `cargo package --list` holds the sources, the lock file and the documents, nothing
//!   else; the README carries the visible `mcp-name:` line the MCP Registry verifies a crate by.
//! - MCP Registry: `packaging/server.json` validates against the registry's own schema
//!   (`packaging/registry/server.schema.json`, 2025-12-11), and so does the copy the release
//!   writes with the bundles' real SHA-256s.
//! - npm: the tarballs of `scripts/package-npm.sh` install into an empty prefix with no registry
//!   reachable, and `npx` then serves the 41 tools, through the native binary put in place at
//!   install and through the JS launcher when install scripts are off.
//! - MCP Bundle: the manifest lists exactly the registry's tools; its options reach the binary as
//!   Claude Desktop passes them (computed by the official `@anthropic-ai/mcpb` library when it is
//!   installed); `mcpb validate` and `mcpb pack` accept it and the bundle holds our binary.
//! - Release archives: `scripts/install.sh` installs the archive of `scripts/package-archive.sh`
//!   from a loopback HTTP server, and refuses one whose checksum does not match.
//! - Container and workflows: the Dockerfile's promises (scratch, non-root, certificates, the
//!   registry label); the release and CI workflows build the five targets on their own runners
//!   and pass `actionlint` when it is installed.
//!
//! Parts that need a tool this machine may lack (node/npm, the mcpb CLI, curl, actionlint) print
//! `SKIP: <why>` on stderr and return; `.ci/run` installs them.
//!
//! `UPDATE_SNAPSHOTS=1 cargo test --test packaging` rewrites the manifest's tool list after an
//! intended change of the registry.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use opentrain_mcp::OpenTrain;
use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_opentrain-mcp");
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The name the MCP Registry knows the server by (GitHub namespace of the repository).
const SERVER_NAME: &str = "io.github.opentrain-mcp/opentrain-mcp";
const TOOL_COUNT: usize = 41;
const READ_ONLY_COUNT: usize = 20;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn read_json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
}

/// Says why a test did not run its check. Written to the stderr handle itself, which the test
/// harness does not capture, so the note shows in every run's output, not only on failure.
fn skip(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIP: {why}");
}

/// `name` on PATH, as a shell would find it.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn run(cmd: &mut Command) -> Output {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} did not start: {e}"));
    assert!(
        output.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The platform as Node and npm name it, when it is one the packages ship.
fn node_platform() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("linux-x64"),
        ("linux", "aarch64") => Some("linux-arm64"),
        ("macos", "x86_64") => Some("darwin-x64"),
        ("macos", "aarch64") => Some("darwin-arm64"),
        ("windows", "x86_64") => Some("win32-x64"),
        _ => None,
    }
}

/// All 41 tools, by name, with their titles.
fn registry_tools() -> BTreeMap<String, String> {
    OpenTrain::toolsets()
        .into_iter()
        .flat_map(|(_, tools)| tools)
        .map(|t| (t.name.to_string(), t.title.clone().unwrap_or_default()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// An MCP client over stdio for any command (the binary, npx, a launcher)

struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Session {
    fn start(cmd: &mut Command) -> Session {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?} did not start: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut pipe = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        Session {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
        }
    }

    fn send(&mut self, message: Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{message}").expect("write to the server");
        stdin.flush().expect("flush");
    }

    /// The next stdout line; every line must be JSON-RPC (stdout belongs to the protocol).
    fn recv(&mut self, wait: Duration) -> Value {
        let Ok(line) = self.lines.recv_timeout(wait) else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.stdin.take();
            let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default());
            panic!(
                "no answer within {wait:?}; stderr:\n{}",
                stderr.unwrap_or_default()
            );
        };
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carried a non-JSON line {line:?}: {e}"));
        assert_eq!(value["jsonrpc"], "2.0", "{line}");
        value
    }

    /// initialize → initialized → tools/list; returns the server's name and the tool names.
    fn handshake(&mut self, wait: Duration) -> (Value, Vec<String>) {
        self.send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "packaging-test", "version": "1"}}}),
        );
        let init = self.recv(wait);
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        self.send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
        let list = self.recv(wait);
        let names = list["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("tools/list answer: {list}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        (init["result"]["serverInfo"].clone(), names)
    }

    /// Closes stdin and waits for the exit (the server ends on EOF).
    fn finish(mut self) -> String {
        self.stdin.take();
        for _ in 0..500 {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn assert_all_tools(names: &[String]) {
    assert_eq!(names.len(), TOOL_COUNT, "{names:?}");
    let expected: BTreeSet<String> = registry_tools().into_keys().collect();
    let got: BTreeSet<String> = names.iter().cloned().collect();
    assert_eq!(got, expected);
}

// ---------------------------------------------------------------------------------------------
// crates.io

#[test]
fn the_crate_ships_the_sources_the_lock_file_and_the_docs_and_nothing_else() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = run(Command::new(cargo)
        .args([
            "package",
            "--list",
            "--locked",
            "--offline",
            "--allow-dirty",
        ])
        .current_dir(root()));
    let listed: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    for must in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE",
        "src/main.rs",
    ] {
        assert!(listed.contains(must), "{must} is not packaged: {listed:?}");
    }
    let generated = ["Cargo.toml.orig", ".cargo_vcs_info.json"];
    let stray: Vec<&String> = listed
        .iter()
        .filter(|f| !f.starts_with("src/") && !generated.contains(&f.as_str()))
        .filter(|f| !["Cargo.toml", "Cargo.lock", "README.md", "LICENSE"].contains(&f.as_str()))
        .collect();
    assert!(stray.is_empty(), "packaged but not needed: {stray:?}");

    // Whatever the sources pull in at compile time must be in the package too, or
    // `cargo install opentrain-mcp` would not build.
    let mut sources = vec![root().join("src")];
    while let Some(dir) = sources.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources.push(path);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for macro_name in ["include_str!(\"", "include_bytes!(\""] {
                for (at, _) in text.match_indices(macro_name) {
                    let rest = &text[at + macro_name.len()..];
                    let rel = &rest[..rest.find('"').expect("closing quote")];
                    let target = dir.join(rel);
                    let target = target
                        .canonicalize()
                        .unwrap_or_else(|e| panic!("{}: {rel}: {e}", path.display()));
                    let packaged = target
                        .strip_prefix(root())
                        .map(|p| p.to_string_lossy().replace('\\', "/"))
                        .unwrap_or_default();
                    assert!(
                        listed.contains(&packaged),
                        "{} includes {packaged}, which `cargo package` leaves out: widen \
                         `include` in Cargo.toml",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn the_readme_carries_the_mcp_name_every_package_declares() {
    // crates.io strips HTML comments, so the cargo check needs visible text, followed by a
    // boundary (the registry's package-types documentation).
    let readme = read("README.md");
    let line = format!("mcp-name: {SERVER_NAME}");
    let at = readme.find(&line).expect("README.md has the mcp-name line");
    let before = &readme[..at];
    assert!(
        before
            .rfind("<!--")
            .is_none_or(|open| before[open..].contains("-->")),
        "the mcp-name line must not be inside an HTML comment (crates.io drops comments)"
    );
    let after = readme[at + line.len()..].chars().next();
    assert!(
        after.is_none_or(|c| c.is_whitespace() || c == '`' || c == '<'),
        "the mcp-name line must end at a boundary, not {after:?}"
    );

    assert_eq!(read_json("packaging/server.json")["name"], SERVER_NAME);
    assert!(
        read("scripts/package-npm.sh").contains(&format!("mcpName: '{SERVER_NAME}'")),
        "the npm package declares mcpName"
    );
    assert!(
        read("Dockerfile").contains(&format!(
            "LABEL io.modelcontextprotocol.server.name=\"{SERVER_NAME}\""
        )),
        "the image carries the label the registry checks"
    );
}

// ---------------------------------------------------------------------------------------------
// MCP Registry

fn registry_validator() -> jsonschema::Validator {
    let schema = read_json("packaging/registry/server.schema.json");
    assert_eq!(
        schema["$id"],
        "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
    );
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the registry schema compiles")
}

fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn server_json_validates_against_the_registry_schema() {
    let validator = registry_validator();
    let server = read_json("packaging/server.json");
    let errors = schema_errors(&validator, &server);
    assert!(errors.is_empty(), "packaging/server.json: {errors:#?}");

    // The validator does reject what the registry rejects (so the check above can fail).
    for (what, broken) in [
        ("a long description", {
            let mut s = server.clone();
            s["description"] = json!("x".repeat(101));
            s
        }),
        ("a name without a slash", {
            let mut s = server.clone();
            s["name"] = json!("opentrain-mcp");
            s
        }),
        ("a bundle without its hash", {
            let mut s = server.clone();
            s["packages"][3]["fileSha256"] = json!("not-a-sha");
            s
        }),
        ("the version `latest`", {
            let mut s = server.clone();
            s["packages"][0]["version"] = json!("latest");
            s
        }),
    ] {
        assert!(
            !schema_errors(&validator, &broken).is_empty(),
            "{what} passed the schema"
        );
    }

    assert_eq!(
        server["$schema"],
        read_json("packaging/registry/server.schema.json")["$id"]
    );
    assert_eq!(server["version"], VERSION);
    let packages = server["packages"].as_array().expect("packages");
    let kinds: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["registryType"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["cargo", "mcpb", "npm", "oci"]));
    let mut bundles = BTreeSet::new();
    for p in packages {
        assert_eq!(p["transport"]["type"], "stdio", "{p}");
        match p["registryType"].as_str() {
            Some("npm" | "cargo") => {
                assert_eq!(p["identifier"], "opentrain-mcp", "{p}");
                assert_eq!(p["version"], VERSION, "{p}");
            }
            Some("oci") => assert_eq!(
                p["identifier"],
                format!("ghcr.io/opentrain-mcp/opentrain-mcp:{VERSION}")
            ),
            Some("mcpb") => {
                let url = p["identifier"].as_str().expect("identifier");
                let prefix = format!(
                    "https://github.com/opentrain-mcp/opentrain-mcp/releases/download/v{VERSION}/"
                );
                let file = url.strip_prefix(&prefix).expect("a release asset URL");
                bundles.insert(file.to_owned());
            }
            other => panic!("unexpected registryType {other:?}"),
        }
        // Every variable a package documents is one the binary reads.
        for var in p["environmentVariables"].as_array().into_iter().flatten() {
            let name = var["name"].as_str().expect("name");
            assert!(
                read("README.md").contains(name),
                "{name} is not documented in the README"
            );
        }
    }
    let expected: BTreeSet<String> = [
        "linux-x64",
        "linux-arm64",
        "darwin-x64",
        "darwin-arm64",
        "win32-x64",
    ]
    .iter()
    .map(|p| format!("opentrain-mcp-{p}.mcpb"))
    .collect();
    assert_eq!(bundles, expected);
}

#[test]
fn the_release_server_json_carries_each_bundles_sha256() {
    if which("node").is_none() {
        return skip("node is not installed; scripts/server-json.sh needs it");
    }
    let dir = TempDir::new().unwrap();
    let mut expected = BTreeMap::new();
    for platform in [
        "linux-x64",
        "linux-arm64",
        "darwin-x64",
        "darwin-arm64",
        "win32-x64",
    ] {
        let name = format!("opentrain-mcp-{platform}.mcpb");
        std::fs::write(dir.path().join(&name), format!("bundle for {platform}")).unwrap();
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            format!("bundle for {platform}").as_bytes(),
        );
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        expected.insert(name, hex);
    }
    let output = run(Command::new("sh")
        .arg(root().join("scripts/server-json.sh"))
        .arg(dir.path()));
    let released: Value = serde_json::from_slice(&output.stdout).expect("JSON out");
    let errors = schema_errors(&registry_validator(), &released);
    assert!(errors.is_empty(), "{errors:#?}");
    for p in released["packages"].as_array().expect("packages") {
        if p["registryType"] == "mcpb" {
            let url = p["identifier"].as_str().unwrap();
            let file = url.rsplit('/').next().unwrap();
            assert_eq!(p["fileSha256"], expected[file], "{file}");
        }
    }

    // A missing bundle stops the release instead of publishing a wrong hash.
    std::fs::remove_file(dir.path().join("opentrain-mcp-win32-x64.mcpb")).unwrap();
    let output = Command::new("sh")
        .arg(root().join("scripts/server-json.sh"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("win32-x64"));
}

// ---------------------------------------------------------------------------------------------
// MCP Bundle

#[test]
fn the_bundle_manifest_lists_every_tool_and_maps_every_option() {
    let path = root().join("packaging/mcpb/manifest.json");
    let mut manifest = read_json("packaging/mcpb/manifest.json");
    let tools: Vec<Value> = registry_tools()
        .into_iter()
        .map(|(name, title)| json!({"name": name, "description": title}))
        .collect();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        manifest["tools"] = Value::Array(tools.clone());
        let text = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    assert_eq!(
        manifest["tools"],
        Value::Array(tools),
        "the manifest's tool list differs from the registry; \
         UPDATE_SNAPSHOTS=1 cargo test --test packaging rewrites it"
    );
    assert_eq!(manifest["version"], VERSION);
    assert_eq!(manifest["server"]["type"], "binary");
    let config = &manifest["server"]["mcp_config"];
    assert_eq!(config["command"], "${__dirname}/server/opentrain-mcp");
    assert_eq!(
        config["platform_overrides"]["win32"]["command"],
        "${__dirname}/server/opentrain-mcp.exe"
    );

    // The token is a keychain-kept option passed as the variable the server reads.
    let user_config = &manifest["user_config"];
    assert_eq!(user_config["api_token"]["sensitive"], true);
    assert_eq!(
        config["env"]["OPENTRAIN_PERSONAL_API_TOKEN"],
        "${user_config.api_token}"
    );
    assert_eq!(user_config["read_only"]["type"], "boolean");
    // Claude Desktop leaves `${user_config.x}` as literal text when an option has no value and
    // no default, and the server would take that text for a token or a toolset: every option
    // the env block uses needs a default.
    for (var, value) in config["env"].as_object().expect("env") {
        let value = value.as_str().expect("string");
        let key = value
            .strip_prefix("${user_config.")
            .and_then(|k| k.strip_suffix('}'))
            .unwrap_or_else(|| panic!("{var} = {value}"));
        assert!(
            !user_config[key]["default"].is_null(),
            "user_config.{key} (for {var}) has no default"
        );
    }
}

/// The command and environment Claude Desktop would start for this manifest with `user`
/// settings: computed by the official library when it is on PATH, else by the same rules
/// (defaults, then the user's values; booleans as "true"/"false"; `${__dirname}`).
fn desktop_config(
    manifest: &Value,
    bundle_dir: &Path,
    user: &Value,
) -> (String, Vec<(String, String)>) {
    if let Some(lib) = mcpb_library() {
        let script = format!(
            "import {{ getMcpConfigForManifest }} from {lib};\n\
             const manifest = JSON.parse(process.env.MANIFEST);\n\
             const config = await getMcpConfigForManifest({{ manifest, extensionPath: \
             process.env.BUNDLE, systemDirs: {{}}, userConfig: JSON.parse(process.env.USER_CONFIG), \
             pathSeparator: '/' }});\n\
             process.stdout.write(JSON.stringify(config));",
            lib = serde_json::to_string(&format!("file://{}", lib.display())).unwrap()
        );
        let output = run(Command::new("node")
            .args(["--input-type=module", "-e", &script])
            .env("MANIFEST", manifest.to_string())
            .env("BUNDLE", bundle_dir)
            .env("USER_CONFIG", user.to_string()));
        let config: Value = serde_json::from_slice(&output.stdout).expect("config JSON");
        let env = config["env"]
            .as_object()
            .expect("env")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        return (config["command"].as_str().unwrap().to_owned(), env);
    }
    let mut values = BTreeMap::new();
    for (key, option) in manifest["user_config"].as_object().unwrap() {
        let value = user.get(key).unwrap_or(&option["default"]);
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        values.insert(format!("${{user_config.{key}}}"), text);
    }
    values.insert("${__dirname}".into(), bundle_dir.display().to_string());
    let substitute = |s: &str| {
        values
            .iter()
            .fold(s.to_owned(), |acc, (from, to)| acc.replace(from, to))
    };
    let config = &manifest["server"]["mcp_config"];
    let env = config["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), substitute(v.as_str().unwrap())))
        .collect();
    (substitute(config["command"].as_str().unwrap()), env)
}

/// `dist/shared/config.js` of the `@anthropic-ai/mcpb` whose `mcpb` command is on PATH.
fn mcpb_library() -> Option<PathBuf> {
    which("node")?;
    let cli = which("mcpb")?.canonicalize().ok()?;
    let package = cli.ancestors().find(|p| p.join("package.json").is_file())?;
    Some(package.join("dist/shared/config.js")).filter(|p| p.is_file())
}

#[test]
fn the_bundle_options_reach_the_binary_as_claude_desktop_passes_them() {
    let manifest = read_json("packaging/mcpb/manifest.json");
    if mcpb_library().is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "note: @anthropic-ai/mcpb is not on PATH; applying its substitution rules here \
             instead of calling its getMcpConfigForManifest"
        );
    }
    let bundle = TempDir::new().unwrap();
    std::fs::create_dir(bundle.path().join("server")).unwrap();
    let exe = if cfg!(windows) {
        "opentrain-mcp.exe"
    } else {
        "opentrain-mcp"
    };
    std::fs::copy(BIN, bundle.path().join("server").join(exe)).unwrap();
    let home = TempDir::new().unwrap();

    for (user, count) in [
        (json!({}), TOOL_COUNT),
        (json!({"read_only": true}), READ_ONLY_COUNT),
        (
            json!({"toolsets": "jobs", "exclude_tools": "close_job"}),
            5 + 7 - 1,
        ),
    ] {
        let (command, env) = desktop_config(&manifest, bundle.path(), &user);
        assert!(!command.contains("${"), "{command}");
        for (k, v) in &env {
            assert!(!v.contains("${"), "{k}={v} was not substituted");
        }
        let mut cmd = Command::new(if cfg!(windows) {
            bundle.path().join("server").join(exe)
        } else {
            PathBuf::from(&command)
        });
        cmd.env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env);
        let mut session = Session::start(&mut cmd);
        let (_, names) = session.handshake(Duration::from_secs(10));
        assert_eq!(names.len(), count, "user config {user}: {names:?}");
        session.finish();
    }
}

#[test]
fn mcpb_validates_and_packs_a_bundle_holding_the_binary() {
    let Some(mcpb) = which("mcpb") else {
        return skip("the mcpb CLI (@anthropic-ai/mcpb) is not on PATH; .ci/run installs it");
    };
    let Some(platform) = node_platform() else {
        return skip("no bundle is built for this platform");
    };
    run(Command::new(&mcpb)
        .arg("validate")
        .arg(root().join("packaging/mcpb/manifest.json")));

    let out = TempDir::new().unwrap();
    let output = run(Command::new("sh")
        .arg(root().join("scripts/package-mcpb.sh"))
        .args([BIN.as_ref(), out.path().as_os_str(), platform.as_ref()]));
    let bundle = out.path().join(format!("opentrain-mcp-{platform}.mcpb"));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        bundle.display().to_string()
    );

    let unpacked = out.path().join("unpacked");
    run(Command::new(&mcpb)
        .arg("unpack")
        .arg(&bundle)
        .arg(&unpacked));
    let exe = if platform.starts_with("win32") {
        "opentrain-mcp.exe"
    } else {
        "opentrain-mcp"
    };
    let shipped = std::fs::read(unpacked.join("server").join(exe)).expect("the bundle's binary");
    assert!(
        shipped == std::fs::read(BIN).unwrap(),
        "the bundle holds another binary"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(unpacked.join("server").join(exe))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "the bundled binary is executable");
    }
    let inner: Value =
        serde_json::from_str(&std::fs::read_to_string(unpacked.join("manifest.json")).unwrap())
            .unwrap();
    let os = platform.split('-').next().unwrap();
    assert_eq!(inner["compatibility"]["platforms"], json!([os]));
    assert_eq!(inner["server"]["entry_point"], format!("server/{exe}"));
    run(Command::new(&mcpb)
        .arg("validate")
        .arg(unpacked.join("manifest.json")));
}

// ---------------------------------------------------------------------------------------------
// npm

/// npm configured to reach no registry at all: a closed loopback port, a private cache and
/// config, so only the tarballs given can be installed.
fn offline_npm<'a>(cmd: &'a mut Command, scratch: &Path) -> &'a mut Command {
    cmd.env("npm_config_registry", "http://127.0.0.1:9/")
        .env("npm_config_cache", scratch.join("cache"))
        .env("npm_config_userconfig", scratch.join("npmrc"))
        .env("npm_config_offline", "true")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false")
        .env("HOME", scratch)
}

struct NpmPackages {
    _dir: TempDir,
    main: PathBuf,
    platform: PathBuf,
}

fn pack_npm(platform: &str) -> NpmPackages {
    let dir = TempDir::new().unwrap();
    run(offline_npm(
        Command::new("sh")
            .arg(root().join("scripts/package-npm.sh"))
            .args([BIN.as_ref(), dir.path().as_os_str(), platform.as_ref()]),
        dir.path(),
    ));
    NpmPackages {
        main: dir.path().join(format!("opentrain-mcp-{VERSION}.tgz")),
        platform: dir
            .path()
            .join(format!("opentrain-mcp-{platform}-{VERSION}.tgz")),
        _dir: dir,
    }
}

/// `npm install` of `tarballs` into an empty prefix, with no registry.
fn npm_install(scratch: &Path, prefix: &Path, tarballs: &[&Path], extra: &[&str]) -> Output {
    std::fs::create_dir_all(prefix).unwrap();
    let mut cmd = Command::new("npm");
    cmd.args(["install", "--no-package-lock", "--prefix"])
        .arg(prefix)
        .args(extra)
        .args(tarballs);
    run(offline_npm(&mut cmd, scratch))
}

/// `npx opentrain-mcp` run from `prefix`, as a client would start it, with no registry.
fn npx(scratch: &Path, prefix: &Path) -> Command {
    let mut cmd = Command::new("npx");
    cmd.args(["--no-install", "opentrain-mcp"])
        .current_dir(prefix)
        .env(
            "OPENTRAIN_PERSONAL_API_TOKEN",
            "ot_pat_packagingtest0000000000000",
        );
    offline_npm(&mut cmd, scratch);
    cmd
}

fn npm_ready() -> Option<&'static str> {
    if which("node").is_none() || which("npm").is_none() || which("npx").is_none() {
        skip("node, npm or npx is not installed; .ci/run installs Node when apt-get can");
        return None;
    }
    let platform = node_platform();
    if platform.is_none() {
        skip("npm packages are built for linux/macOS x64/arm64 and Windows x64 only");
    }
    platform
}

#[test]
fn npm_tarballs_install_offline_and_serve_every_tool_through_npx() {
    let Some(platform) = npm_ready() else { return };
    let packages = pack_npm(platform);
    let scratch = TempDir::new().unwrap();
    let prefix = scratch.path().join("prefix");
    npm_install(
        scratch.path(),
        &prefix,
        &[&packages.main, &packages.platform],
        &[],
    );

    let installed = prefix.join("node_modules/opentrain-mcp");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(installed.join("package.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["mcpName"], SERVER_NAME);
    assert_eq!(manifest["bin"]["opentrain-mcp"], "bin/opentrain-mcp");
    let optional = manifest["optionalDependencies"].as_object().unwrap();
    assert_eq!(optional.len(), 5, "{optional:?}");
    assert!(optional.values().all(|v| v == VERSION));
    let platform_manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(
            prefix
                .join("node_modules/@opentrain-mcp")
                .join(platform)
                .join("package.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let (os, cpu) = platform.split_once('-').unwrap();
    assert_eq!(platform_manifest["os"], json!([os]));
    assert_eq!(platform_manifest["cpu"], json!([cpu]));

    // On Linux and macOS the install step put the binary itself where npm links the command:
    // the process a client starts is the native binary, no Node in between.
    if !cfg!(windows) {
        let linked = std::fs::read(installed.join("bin/opentrain-mcp")).unwrap();
        assert!(
            linked == std::fs::read(BIN).unwrap(),
            "after install, bin/opentrain-mcp should be the native binary (postinstall)"
        );
    }

    let mut session = Session::start(&mut npx(scratch.path(), &prefix));
    let (info, names) = session.handshake(Duration::from_secs(60));
    assert_eq!(info["version"], VERSION);
    assert_all_tools(&names);
    let stderr = session.finish();
    assert!(
        !stderr.contains("ot_pat_packagingtest"),
        "the token reached stderr: {stderr}"
    );
}

#[test]
fn without_install_scripts_the_launcher_serves_through_npx_and_explains_a_missing_binary() {
    let Some(platform) = npm_ready() else { return };
    let packages = pack_npm(platform);
    let scratch = TempDir::new().unwrap();

    // Install scripts off (npm --ignore-scripts, pnpm's default): the JS launcher runs the binary.
    let prefix = scratch.path().join("prefix");
    npm_install(
        scratch.path(),
        &prefix,
        &[&packages.main, &packages.platform],
        &["--ignore-scripts"],
    );
    let launcher =
        std::fs::read(prefix.join("node_modules/opentrain-mcp/bin/opentrain-mcp")).unwrap();
    assert!(
        launcher.starts_with(b"#!/usr/bin/env node"),
        "the launcher stays in place"
    );
    let mut session = Session::start(&mut npx(scratch.path(), &prefix));
    let (_, names) = session.handshake(Duration::from_secs(60));
    assert_all_tools(&names);
    session.finish();

    // Without the platform package (optional dependencies omitted), the launcher says what is
    // wrong on stderr, writes nothing on stdout, and exits 1.
    let bare = scratch.path().join("bare");
    npm_install(
        scratch.path(),
        &bare,
        &[&packages.main],
        &["--ignore-scripts", "--omit=optional"],
    );
    let output = npx(scratch.path(), &bare).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "stdout must stay clean");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("@opentrain-mcp/{platform}")) && stderr.contains("optional"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Release archives and the install script

/// The release target whose archive `scripts/install.sh` picks on this machine.
fn install_target() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => Some("aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => Some("x86_64-apple-darwin"),
        ("macos", "aarch64") => Some("aarch64-apple-darwin"),
        _ => None,
    }
}

/// A static file server on loopback: GET /<name> answers the file `dir/<name>`, else 404.
fn serve_dir(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            let name = request
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let file = (!name.contains('/') && !name.is_empty())
                .then(|| std::fs::read(dir.join(name)).ok())
                .flatten();
            let _ = match file {
                Some(body) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|()| stream.write_all(&body)),
                None => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    format!("http://127.0.0.1:{}", addr.port())
}

#[test]
fn the_install_script_verifies_the_checksum_and_installs_the_archive() {
    let Some(target) = install_target() else {
        return skip("scripts/install.sh serves Linux and macOS on x86-64 and arm64 only");
    };
    if which("curl").is_none() && which("wget").is_none() {
        return skip("neither curl nor wget is installed");
    }
    if which("sha256sum").is_none() && which("shasum").is_none() && which("openssl").is_none() {
        return skip("no sha256sum, shasum or openssl to verify with");
    }
    let releases = TempDir::new().unwrap();
    let output = run(Command::new("sh")
        .arg(root().join("scripts/package-archive.sh"))
        .args([BIN.as_ref(), target.as_ref(), releases.path().as_os_str()]));
    let archive = format!("opentrain-mcp-{target}.tar.gz");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        releases.path().join(&archive).display().to_string()
    );
    let base = serve_dir(releases.path().to_path_buf());

    let home = TempDir::new().unwrap();
    let dir = home.path().join("bin");
    let output = run(Command::new("sh")
        .arg(root().join("scripts/install.sh"))
        .env("HOME", home.path())
        .env("OPENTRAIN_MCP_DOWNLOAD_URL", &base)
        .env("OPENTRAIN_MCP_INSTALL_DIR", &dir));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("checksum verified"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "claude mcp add opentrain -- {}",
            dir.join("opentrain-mcp").display()
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    let installed = dir.join("opentrain-mcp");
    assert!(std::fs::read(&installed).unwrap() == std::fs::read(BIN).unwrap());
    let version = run(Command::new(&installed).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("opentrain-mcp {VERSION}")
    );

    // A checksum that does not match: nothing is installed.
    let tampered = TempDir::new().unwrap();
    std::fs::copy(
        releases.path().join(&archive),
        tampered.path().join(&archive),
    )
    .unwrap();
    std::fs::write(
        tampered.path().join(format!("{archive}.sha256")),
        format!("{}  {archive}\n", "0".repeat(64)),
    )
    .unwrap();
    let base = serve_dir(tampered.path().to_path_buf());
    let elsewhere = home.path().join("other-bin");
    let output = Command::new("sh")
        .arg(root().join("scripts/install.sh"))
        .env("HOME", home.path())
        .env("OPENTRAIN_MCP_DOWNLOAD_URL", &base)
        .env("OPENTRAIN_MCP_INSTALL_DIR", &elsewhere)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(!elsewhere.join("opentrain-mcp").exists());
}

// ---------------------------------------------------------------------------------------------
// Container image and workflows

#[test]
fn the_image_is_the_static_binary_from_scratch_as_a_non_root_user() {
    let dockerfile = read("Dockerfile");
    let final_stage = dockerfile.rsplit("\nFROM ").next().expect("a final stage");
    assert!(
        final_stage.starts_with("scratch\n"),
        "the image is FROM scratch"
    );
    assert!(final_stage.contains("/etc/ssl/certs/ca-certificates.crt"));
    let user = final_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER");
    assert!(
        user.split(':')
            .all(|id| id.parse::<u32>().is_ok_and(|id| id > 0)),
        "a numeric non-root USER (no /etc/passwd in scratch): {user}"
    );
    assert!(final_stage.contains("ENTRYPOINT [\"/usr/local/bin/opentrain-mcp\"]"));
    // scratch has no /tmp, and `opentrain-mcp demo` keeps its sandbox in the temp directory.
    assert!(
        final_stage.contains("TMPDIR=/home/opentrain"),
        "a writable temp directory"
    );
    assert!(
        dockerfile.contains("FROM rust:1.89-alpine AS source"),
        "built with the minimum supported Rust, on musl"
    );
    assert!(dockerfile.contains("cargo build --release --locked"));
    // The context must not carry target/ (gigabytes) or the repository's history.
    let ignore = read(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "*"), "{ignore}");
}

const TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

/// `target: <t>` → `os: <runner>` from a workflow's build matrix (one `include` entry a line).
fn matrix_runners(workflow: &str) -> BTreeMap<String, String> {
    workflow
        .lines()
        .filter_map(|line| {
            let target = line
                .split("target: ")
                .nth(1)?
                .split([',', ' ', '}'])
                .next()?;
            let os = line.split("os: ").nth(1)?.split([',', ' ', '}']).next()?;
            Some((target.to_owned(), os.to_owned()))
        })
        .collect()
}

#[test]
fn release_and_ci_build_the_five_targets_each_on_its_own_runner() {
    for file in [".github/workflows/release.yml", ".github/workflows/ci.yml"] {
        let workflow = read(file);
        let runners = matrix_runners(&workflow);
        let targets: BTreeSet<&str> = runners.keys().map(String::as_str).collect();
        assert_eq!(targets, BTreeSet::from(TARGETS), "{file}: {runners:?}");
        let distinct: BTreeSet<&String> = runners.values().collect();
        assert_eq!(
            distinct.len(),
            5,
            "{file}: one runner per target: {runners:?}"
        );
        assert!(workflow.contains("--locked"), "{file} builds with --locked");
        assert!(
            workflow.contains("scripts/check-static.sh"),
            "{file} checks that the Linux binaries are static"
        );
    }
    let release = read(".github/workflows/release.yml");
    for needed in [
        "scripts/package-archive.sh",
        "scripts/package-npm.sh",
        "scripts/package-mcpb.sh",
        "scripts/server-json.sh",
        "SHA256SUMS",
        "npm publish",
        "cargo publish --locked",
        "mcp-publisher publish",
        "docker/build-push-action",
        "BINARY_SOURCE=prebuilt",
        "scripts/install.sh",
    ] {
        assert!(release.contains(needed), "release.yml lacks {needed}");
    }
}

#[test]
fn the_workflows_pass_actionlint() {
    let Some(actionlint) = which("actionlint") else {
        return skip("actionlint is not on PATH; .ci/run installs it when pip can");
    };
    let output = Command::new(actionlint)
        .args([
            "-no-color",
            ".github/workflows/release.yml",
            ".github/workflows/ci.yml",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_shell_scripts_pass_shellcheck() {
    let Some(shellcheck) = which("shellcheck") else {
        return skip("shellcheck is not on PATH; .ci/run installs it when apt-get can");
    };
    let scripts = [
        "scripts/install.sh",
        "scripts/package-archive.sh",
        "scripts/package-npm.sh",
        "scripts/package-mcpb.sh",
        "scripts/server-json.sh",
        "scripts/check-static.sh",
        "scripts/smoke-test.sh",
        "scripts/client-matrix.sh",
        "scripts/conformance.sh",
        ".ci/packaging-tools.sh",
        ".ci/deploy-tools.sh",
    ];
    let output = Command::new(shellcheck)
        .arg("-x")
        .args(scripts)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
