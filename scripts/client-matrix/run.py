#!/usr/bin/env python3
"""The client matrix: real MCP clients driving opentrain-mcp, scored on what each shows its model.

Started by scripts/client-matrix.sh, which installs the pinned clients. For each agent CLI
(Claude Code, Codex CLI, Gemini CLI) it runs the README's own setup lines (the fenced blocks after
`<!-- client-matrix: <client> <variant> -->`), then the agent against a fake model API on
127.0.0.1 that plays a scripted agent (fakes.py): a call with arguments, a co-signed call
(opentrain_hire_proposal), and a call the API refuses. What the client sent its model is recorded
and checked. MCP Inspector's CLI, which has no model, is checked on what it prints.

Remote mode (`--http`): for each agent CLI, the README's "Remote mode" line for it connects the
client to `opentrain-mcp --http 127.0.0.1:0` with the token as a bearer header, and the same
session runs; the OpenTrain API stub must see that token (the server reads no other).

Python standard library only. Exit status: 0 when every check of the default setup passed.
"""

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "ot_pat_matrix0_M4tr1xM4tr1xM4tr1xM4tr1x0000"
PROMPT = "Use the OpenTrain tools."
# The scripted agent: what every fake model calls, in order.
SCRIPT = [
    {"tool": "opentrain_get_contract", "arguments": {"contractId": "ctr_123"}},
    {
        "tool": "opentrain_hire_proposal",
        "arguments": {"proposalId": "prp_456", "milestone": {"name": "First labeling batch", "amount": 300}},
    },
    {"tool": "opentrain_get_contract", "arguments": {"contractId": "ctr_missing"}},
]
APPROVAL_URL = "https://app.opentrain.ai/approvals/apr_7f3k2"
NEXT_STEP = "opentrain_get_approval"
# The next step of the 404, in the text ("What to do: …") or in structured mode's whatToDo.
ERROR_NEXT_STEP = "Check the id"
# In what the model got (Claude Code quotes it without quotes and with "nope" redacted).
STARTUP_ERROR = "unknown toolset"
TIMEOUT = 150
# What the README's remote-mode lines connect to; the matrix puts its own server's URL there.
README_URL = "https://mcp.example.com/mcp"
# Remote mode does not serve the three tools that write a local credentials file.
TOOLS = {"stdio": 41, "http": 38}


def log(msg):
    print(f"[client-matrix] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The README's setup lines


def readme_blocks(path):
    """{(client, variant): [command line, ...]} from the README's marked blocks."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    blocks = {}
    for m in re.finditer(r"<!-- client-matrix: (\S+) (\S+) -->\s*```[a-z]*\n(.*?)```", text, re.S):
        lines = [l.strip() for l in m.group(3).splitlines()]
        blocks[(m.group(1), m.group(2))] = [l for l in lines if l and not l.startswith("#")]
    return blocks


def with_server_args(client, argv, extra):
    """A setup command with flags added to the server's command line, in the client's syntax."""
    if not extra:
        return argv
    if client == "gemini-cli":
        # Options after the command would be Gemini's own (--exclude-tools is one): after `--`.
        return argv + (extra if "--" in argv else ["--"] + extra)
    return argv + extra


# ---------------------------------------------------------------------------------------------
# What a client sent its model


def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(text_of(c) for c in content)
    if isinstance(content, dict):
        for key in ("text", "output", "error"):
            if key in content:
                return text_of(content[key])
        return json.dumps(content)
    return "" if content is None else str(content)


def first_json(text):
    """The first JSON object in a program's output."""
    return json.JSONDecoder().raw_decode(text[text.index("{"):])[0]


def read_log(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def agent_requests(entries):
    return [e for e in entries if e.get("role") == "agent" and isinstance(e.get("body"), dict)]


def results_anthropic(body):
    names, out = {}, []
    for m in body.get("messages") or []:
        for b in m.get("content") if isinstance(m.get("content"), list) else []:
            if not isinstance(b, dict):
                continue
            if b.get("type") == "tool_use":
                names[b.get("id")] = b.get("name", "")
            elif b.get("type") == "tool_result":
                out.append((names.get(b.get("tool_use_id"), "?"), text_of(b.get("content")), bool(b.get("is_error"))))
    return out


def results_openai(body):
    names, out = {}, []
    for it in body.get("input") or []:
        if not isinstance(it, dict):
            continue
        if it.get("type") == "function_call":
            names[it.get("call_id")] = it.get("name", "")
        elif it.get("type") == "function_call_output":
            out.append((names.get(it.get("call_id"), "?"), text_of(it.get("output")), None))
    return out


def results_gemini(body):
    out = []
    for c in body.get("contents") or []:
        for p in c.get("parts") or []:
            r = p.get("functionResponse") if isinstance(p, dict) else None
            if r:
                resp = r.get("response") or {}
                out.append((r.get("name", ""), text_of(resp.get("output", resp.get("error"))), "error" in resp))
    return out


def tools_offered(api, entries):
    """How many distinct OpenTrain tools the model was shown (loaded or listed as deferred)."""
    names = set()
    for e in agent_requests(entries):
        dumped = json.dumps(e["body"])
        if api == "anthropic":
            names |= set(re.findall(r"mcp__opentrain__(opentrain_\w+)", dumped))
        elif api == "gemini":
            for t in e["body"].get("tools") or []:
                for d in t.get("functionDeclarations") or []:
                    m = re.search(r"(opentrain_\w+)$", d.get("name", ""))
                    if m:
                        names.add(m.group(1))
        else:
            for it in e["body"].get("input") or []:
                if isinstance(it, dict) and it.get("type") == "tool_search_output":
                    names |= set(re.findall(r'"name": "(opentrain_\w+)"', json.dumps(it)))
    return len(names)


RESULTS = {"anthropic": results_anthropic, "openai": results_openai, "gemini": results_gemini}


def model_view(api, entries):
    """The tool results of the OpenTrain calls, as the model got them, from the fullest request."""
    best = []
    for e in agent_requests(entries):
        got = [r for r in RESULTS[api](e["body"]) if "opentrain_" in r[0]]
        if len(got) >= len(best):
            best = got
    return best


# ---------------------------------------------------------------------------------------------
# Running things


class Fakes:
    def __init__(self, work, fixtures):
        self.dir = os.path.join(work, "fakes")
        os.makedirs(self.dir, exist_ok=True)
        script = os.path.join(self.dir, "script.json")
        with open(script, "w", encoding="utf-8") as f:
            json.dump(SCRIPT, f)
        self.logs = os.path.join(self.dir, "logs")
        ports = os.path.join(self.dir, "ports.json")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fakes.py"), "--fixtures", fixtures, "--log-dir", self.logs,
             "--ports-file", ports, "--script", script],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "fakes.err"), "w"),
        )
        for _ in range(100):
            if os.path.exists(ports):
                break
            time.sleep(0.05)
        with open(ports, encoding="utf-8") as f:
            self.ports = json.load(f)

    def url(self, api):
        return f"http://127.0.0.1:{self.ports[api]}"

    def take(self, run_dir):
        """Moves what was recorded so far into run_dir; returns {api: entries}."""
        out = {}
        os.makedirs(run_dir, exist_ok=True)
        for api in ("anthropic", "openai", "gemini", "opentrain"):
            src = os.path.join(self.logs, api + ".jsonl")
            dst = os.path.join(run_dir, api + ".jsonl")
            if os.path.exists(src):
                os.replace(src, dst)
            out[api] = read_log(dst)
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run(argv, env, cwd, out_path, timeout=TIMEOUT):
    started = time.time()
    with open(out_path, "w", encoding="utf-8") as out:
        try:
            p = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=timeout)
            code = p.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    with open(out_path, encoding="utf-8", errors="replace") as f:
        return code, f.read(), time.time() - started


class HttpServer:
    """`opentrain-mcp --http 127.0.0.1:0`, with no token of its own: each request brings one."""

    def __init__(self, binary, work, api_url):
        home = os.path.join(work, "server-home")
        os.makedirs(home, exist_ok=True)
        self.err_path = os.path.join(work, "server.err")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "OPENTRAIN_API_BASE_URL": api_url,
               "NO_PROXY": "127.0.0.1,localhost"}
        self.proc = subprocess.Popen([binary, "--http", "127.0.0.1:0"], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.err_path, "w"))
        self.url = None
        for _ in range(200):
            with open(self.err_path, encoding="utf-8", errors="replace") as f:
                m = re.search(r"listening on (http://\S+/mcp)", f.read())
            if m:
                self.url = m.group(1)
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Matrix:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="client-matrix-")
        self.bin = os.path.join(self.work, "bin")
        os.makedirs(self.bin)
        os.symlink(os.path.abspath(args.binary), os.path.join(self.bin, "opentrain-mcp"))
        self.blocks = readme_blocks(args.readme)
        self.fakes = Fakes(self.work, args.fixtures)
        self.tools = os.path.join(args.clients, "node_modules", ".bin")
        self.rows = []
        self.n = 0

    def env(self, home):
        keep = ("LANG", "LC_ALL", "TERM", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env["PATH"] = os.pathsep.join([self.bin, self.tools, os.environ.get("PATH", "/usr/bin:/bin")])
        env["HOME"] = home
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        return env

    def home(self, label, variant):
        self.n += 1
        home = os.path.join(self.work, f"{self.n:02d}-{label}")
        os.makedirs(os.path.join(home, "work"))
        if variant == "file":
            # The shared credentials file, as registration or `opentrain auth login` leaves it.
            cfg = os.path.join(home, ".config", "opentrain")
            os.makedirs(cfg)
            os.chmod(cfg, 0o700)
            with open(os.path.join(cfg, "cli.json"), "w", encoding="utf-8") as f:
                json.dump({"apiToken": TOKEN, "baseUrl": self.fakes.url("opentrain")}, f)
            os.chmod(os.path.join(cfg, "cli.json"), 0o600)
        return home

    def setup(self, client, variant, home, env, extra, url=None):
        lines = self.blocks.get((client, variant))
        if not lines:
            raise SystemExit(f"README.md has no <!-- client-matrix: {client} {variant} --> block")
        ran = []
        for line in lines:
            argv = [TOKEN if a == "ot_pat_..." else a.replace("ot_pat_...", TOKEN) for a in shlex.split(line)]
            if url:
                argv = [a.replace(README_URL, url) for a in argv]
            argv = with_server_args(client, argv, extra)
            code, out, _ = run(argv, env, os.path.join(home, "work"), os.path.join(home, "setup.out"))
            ran.append(line)
            if code != 0:
                return ran, f"setup failed ({code}): {out[-300:]}"
        return ran, None

    # -- one agent run ---------------------------------------------------------------------

    def agent(self, client, variant, mode="text", extra=()):
        extra = list(extra)
        if mode == "structured":
            extra += ["--result-format", "structured"]
        label = f"{client}-{variant}-{mode}" + ("-bad" if "nope" in extra else "")
        home = self.home(label, variant)
        env = self.env(home)
        if variant == "token":
            # The token comes from the README's line; the API origin from the environment (Codex
            # passes only the variables its config names: see codex_run).
            env["OPENTRAIN_API_BASE_URL"] = self.fakes.url("opentrain")
        server = None
        if variant == "http":
            server = HttpServer(self.args.binary, home, self.fakes.url("opentrain"))
            if not server.url:
                server.stop()
                with open(server.err_path, encoding="utf-8", errors="replace") as f:
                    return {"client": client, "variant": variant, "mode": mode, "setup": [], "bad_flag": False,
                            "error": "opentrain-mcp --http did not start: " + f.read()[-300:]}
        try:
            ran, failed = self.setup(client, variant, home, env, extra, url=server and server.url)
            row = {"client": client, "variant": variant, "mode": mode, "setup": ran, "bad_flag": "nope" in extra}
            if failed:
                row["error"] = failed
                return row
            started = time.time()
            getattr(self, client.replace("-", "_") + "_run")(home, env, row, variant)
            row["seconds"] = round(time.time() - started, 1)
        finally:
            if server:
                server.stop()
        rec = self.fakes.take(os.path.join(home, "recorded"))
        api = {"claude-code": "anthropic", "codex": "openai", "gemini-cli": "gemini"}[client]
        views = model_view(api, rec[api])
        row["tools"] = tools_offered(api, rec[api])
        row["views"] = views
        # Everything the client sent its model (a failed server leaves no agent request).
        row["everything"] = json.dumps([e.get("body") for e in rec[api]])
        row["api_calls"] = [f'{e["method"]} {e["path"]}' for e in rec["opentrain"]]
        # Did every API call carry the matrix's token (remote mode: from the client's header)?
        want = hashlib.sha256(TOKEN.encode()).hexdigest()
        row["api_token_ok"] = bool(rec["opentrain"]) and all(e.get("bearer_sha256") == want for e in rec["opentrain"])
        return row

    def claude_code_run(self, home, env, row, variant):
        env = dict(env, ANTHROPIC_BASE_URL=self.fakes.url("anthropic"), ANTHROPIC_API_KEY="sk-ant-matrix",
                   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1")
        work = os.path.join(home, "work")
        _, listed, _ = run(["claude", "mcp", "list"], env, work, os.path.join(home, "mcp-list.out"))
        row["human"] = next((l.strip() for l in listed.splitlines() if l.startswith("opentrain")), listed[-200:])
        row["connected"] = "✔ Connected" in row["human"]
        debug = os.path.join(home, "claude-debug.log")
        code, out, _ = run(["claude", "-p", PROMPT, "--allowedTools", "mcp__opentrain", "--debug-file", debug,
                            "--output-format", "json"], env, work, os.path.join(home, "agent.out"))
        row["exit"] = code
        lines = []
        if os.path.exists(debug):
            with open(debug, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        row["stderr_as_error"] = sum(1 for l in lines if "[ERROR]" in l and "Server stderr" in l)

    def codex_run(self, home, env, row, variant):
        codex_home = os.path.join(home, ".codex")
        os.makedirs(codex_home, exist_ok=True)
        config = os.path.join(codex_home, "config.toml")
        existing = open(config, encoding="utf-8").read() if os.path.exists(config) else ""
        with open(config, "w", encoding="utf-8") as f:
            # The fake model first: top-level keys must come before the tables `codex mcp add` wrote.
            f.write(f'model = "gpt-5.5"\nmodel_provider = "matrix"\n\n[model_providers.matrix]\nname = "matrix"\n'
                    f'base_url = "{self.fakes.url("openai")}/v1"\nwire_api = "responses"\nenv_key = "MATRIX_OPENAI_KEY"\n\n')
            f.write(existing)
        env = dict(env, MATRIX_OPENAI_KEY="sk-matrix")
        work = os.path.join(home, "work")
        _, listed, _ = run(["codex", "mcp", "list"], env, work, os.path.join(home, "mcp-list.out"))
        row["human"] = next((" ".join(l.split()) for l in listed.splitlines() if l.startswith("opentrain")), "")
        argv = ["codex", "exec", "--skip-git-repo-check",
                # Non-interactive: approve the server's tools without asking (writes ask otherwise).
                "-c", 'mcp_servers.opentrain.default_tools_approval_mode="approve"']
        if variant == "token":
            # Codex passes a server only the variables its config names.
            argv += ["-c", 'mcp_servers.opentrain.env_vars=["OPENTRAIN_API_BASE_URL"]']
        if variant == "http":
            # The README's line names the variable Codex reads the bearer token from.
            env["OPENTRAIN_PERSONAL_API_TOKEN"] = TOKEN
        code, out, _ = run(argv + [PROMPT], env, work, os.path.join(home, "agent.out"))
        row["exit"] = code
        row["stderr_as_error"] = None

    def gemini_cli_run(self, home, env, row, variant):
        gemini = os.path.join(home, ".gemini")
        os.makedirs(gemini, exist_ok=True)
        work = os.path.join(home, "work")
        # What Gemini's trust prompt writes; and the API-key sign-in, for the fake model.
        with open(os.path.join(gemini, "trustedFolders.json"), "w", encoding="utf-8") as f:
            json.dump({work: "TRUST_FOLDER"}, f)
        settings = os.path.join(gemini, "settings.json")
        current = json.load(open(settings, encoding="utf-8")) if os.path.exists(settings) else {}
        current.setdefault("security", {}).setdefault("auth", {})["selectedType"] = "gemini-api-key"
        with open(settings, "w", encoding="utf-8") as f:
            json.dump(current, f)
        env = dict(env, GEMINI_API_KEY="matrix-key", GOOGLE_GEMINI_BASE_URL=self.fakes.url("gemini"))
        _, listed, _ = run(["gemini", "mcp", "list"], env, work, os.path.join(home, "mcp-list.out"))
        row["human"] = next((l.strip() for l in listed.splitlines() if "opentrain" in l), listed[-200:])
        row["connected"] = "Connected" in row["human"] and "Disconnected" not in row["human"]
        code, out, _ = run(["gemini", "-m", "gemini-2.5-pro", "--yolo", "-p", PROMPT, "-o", "json"], env, work,
                           os.path.join(home, "agent.out"))
        row["exit"] = code
        row["stderr_as_error"] = None

    # -- MCP Inspector (no model: what it prints) -------------------------------------------

    def inspector(self):
        row = {"client": "inspector", "variant": "token", "mode": "text", "setup": [], "bad_flag": False}
        node, cli = self.args.inspector_node, self.args.inspector_cli
        if not (node and cli and os.path.exists(node) and os.path.exists(cli)):
            row["error"] = "not installed (it needs Node >= 22.19)"
            return row
        home = self.home("inspector", "token")
        env = self.env(home)
        row["setup"] = ["inspector --cli --method tools/call --tool-name … --tool-arg … "
                        "-e OPENTRAIN_PERSONAL_API_TOKEN=ot_pat_... opentrain-mcp"]
        env_args = ["-e", f"OPENTRAIN_PERSONAL_API_TOKEN={TOKEN}",
                    "-e", f"OPENTRAIN_API_BASE_URL={self.fakes.url('opentrain')}"]
        target = ["opentrain-mcp"]
        started = time.time()
        code, out, _ = run([node, cli, "--cli", "--method", "tools/list"] + env_args + target, env, home,
                           os.path.join(home, "list.out"))
        try:
            row["tools"] = len(first_json(out)["tools"])
            row["connected"] = True
        except (ValueError, KeyError):
            row["connected"], row["tools"] = False, 0
            row["error"] = out[-300:]
            return row
        views = []
        for step in SCRIPT:
            argv = [node, cli, "--cli", "--method", "tools/call", "--tool-name", step["tool"]]
            for k, v in step["arguments"].items():
                argv += ["--tool-arg", f"{k}={v if isinstance(v, str) else json.dumps(v)}"]
            code, out, _ = run(argv + env_args + target, env, home, os.path.join(home, "call.out"))
            try:
                result = first_json(out)
                views.append((step["tool"], text_of(result.get("content")), result.get("isError")))
            except ValueError:
                views.append((step["tool"], out[-500:], True))
        row["views"] = views
        row["seconds"] = round(time.time() - started, 1)
        row["everything"] = ""
        row["api_calls"] = [f'{e["method"]} {e["path"]}' for e in self.fakes.take(os.path.join(home, "rec"))["opentrain"]]
        row["human"] = "-"
        row["stderr_as_error"] = None
        return row


# ---------------------------------------------------------------------------------------------
# Scoring and the table


def score(row):
    """Checks of one row: {name: (passed, shown)}."""
    if row.get("error"):
        return {"setup": (False, row["error"][:120])}
    views = row.get("views") or []
    checks = {}
    if row["client"] == "codex":
        connected = "mcp__opentrain" in row.get("everything", "")
    else:
        connected = bool(row.get("connected"))
    checks["connects"] = (connected, "yes" if connected else "no")
    remote = row["variant"] == "http"
    checks["tools"] = (row.get("tools") == TOOLS["http" if remote else "stdio"], str(row.get("tools")))
    first = views[0] if views else None
    call_ok = bool(first and "ctr_123" in first[1] and not first[2] and "Invalid arguments" not in first[1]
                   and "GET /api/public/v1/contracts/ctr_123" in row.get("api_calls", []))
    note = ""
    if remote:
        # The server has no token of its own here: the API saw the one from the client's header.
        call_ok = call_ok and bool(row.get("api_token_ok"))
        note += ", API got the header's token" if row.get("api_token_ok") else ", API did NOT get the header's token"
    if first and 'Ignored unknown argument "wait_for_previous"' in first[1]:
        note += " (wait_for_previous ignored)"
    checks["call"] = (call_ok, ("ok" if call_ok else "FAILED") + note)
    hire = views[1][1] if len(views) > 1 else ""
    link, nxt = APPROVAL_URL in hire, NEXT_STEP in hire
    checks["hire"] = (link and nxt, f"link {'yes' if link else 'no'}, next step {'yes' if nxt else 'no'}")
    err = views[2][1] if len(views) > 2 else ""
    checks["error"] = (ERROR_NEXT_STEP in err, "yes" if ERROR_NEXT_STEP in err else "no")
    return checks


def startup_shown(row):
    """(model told?, what the client's `mcp list` shows the human)."""
    if row.get("error"):
        return False, "setup failed"
    human = " ".join((row.get("human") or "-").split())
    if len(human) > 170:
        human = human[:170] + "…"
    return STARTUP_ERROR in row.get("everything", ""), human


def table(rows, versions):
    head = ["client", "setup (README)", "mode", "connects", "tools", "call with args",
            "hire: model sees", "404: model sees next step", "secs"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ok = True
    for r in rows:
        if r.get("bad_flag"):
            continue
        c = score(r)
        strict = r["mode"] == "text"
        if strict:
            ok &= all(passed for passed, _ in c.values())
        name = f'{r["client"]} {versions.get(r["client"], "")}'.strip()
        setup = "; ".join(f"`{l}`" for l in r.get("setup") or []) or "-"
        if r["client"] != "inspector":
            setup = f'{r["variant"]}: ' + setup
        cells = [name, setup, r["mode"] + ("" if strict else " (observed)")]
        for key in ("connects", "tools", "call", "hire", "error"):
            passed, shown = c.get(key, (False, "-"))
            mark = "" if not strict else (" ✓" if passed else " ✗")
            cells.append(shown + mark)
        cells.append(str(r.get("seconds", "-")))
        out.append("| " + " | ".join(cells) + " |")
    bad = [r for r in rows if r.get("bad_flag")]
    if bad:
        out.append("")
        out.append("Start-up error (`--toolsets nope`): what reaches the model and the human")
        out.append("")
        out.append("| client | the model is told the reason | `mcp list` shows the human |")
        out.append("|---|---|---|")
        for r in bad:
            told, human = startup_shown(r)
            ok &= told
            out.append(f'| {r["client"]} | {"yes ✓" if told else "no ✗"} | `{human}` |')
        healthy = [r for r in rows if r["client"] == "claude-code" and not r.get("bad_flag")]
        if healthy:
            lines = sum(r.get("stderr_as_error") or 0 for r in healthy)
            ok &= lines == 0
            out.append("")
            out.append(f"Server stderr lines Claude Code logged as `[ERROR]` in its {len(healthy)} healthy runs: "
                       f"{lines}{' ✓' if lines == 0 else ' ✗'}")
    return "\n".join(out), ok


def versions_of(args):
    out = {}
    for name, cmd in (("claude-code", "claude"), ("codex", "codex"), ("gemini-cli", "gemini")):
        path = os.path.join(args.clients, "node_modules", ".bin", cmd)
        try:
            v = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60).stdout
            out[name] = re.search(r"\d+\.\d+\.\d+", v).group(0)
        except (OSError, AttributeError, subprocess.TimeoutExpired):
            out[name] = "?"
    out["inspector"] = args.inspector_version or ""
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--clients", required=True, help="npm prefix holding the agent CLIs")
    p.add_argument("--readme", required=True)
    p.add_argument("--fixtures", required=True)
    p.add_argument("--inspector-node")
    p.add_argument("--inspector-cli")
    p.add_argument("--inspector-version")
    p.add_argument("--only", default="claude-code,codex,gemini-cli,inspector")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, homes)")
    p.add_argument("--json", help="write every row (with what each model saw) to this file")
    args = p.parse_args()
    only = args.only.split(",")
    m = Matrix(args)
    rows = []
    started = time.time()
    try:
        for client in ("claude-code", "codex", "gemini-cli"):
            if client not in only:
                continue
            log(f"{client}: token, file, remote (--http), structured, start-up error")
            rows.append(m.agent(client, "token"))
            rows.append(m.agent(client, "file"))
            rows.append(m.agent(client, "http"))
            rows.append(m.agent(client, "token", mode="structured"))
            rows.append(m.agent(client, "token", extra=["--toolsets", "nope"]))
        if "inspector" in only:
            log("inspector")
            rows.append(m.inspector())
    finally:
        m.fakes.stop()
    versions = versions_of(args)
    text, ok = table(rows, versions)
    print(text)
    print(f"\n{'All checks passed' if ok else 'SOME CHECKS FAILED'} in {time.time() - started:.0f} s"
          f" (work directory {m.work}{'' if args.keep else ', removed'}).")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"versions": versions, "rows": rows}, f, indent=1)
    if not args.keep:
        shutil.rmtree(m.work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
