#!/bin/sh
# Starts the server with the given command, as an MCP client would, and checks that it answers
# `initialize` with this version and `tools/list` with all 41 tools:
#
#   scripts/smoke-test.sh target/release/opentrain-mcp
#   scripts/smoke-test.sh docker run -i --rm -e OPENTRAIN_PERSONAL_API_TOKEN ghcr.io/opentrain-mcp/opentrain-mcp:0.2.0
#
# No network is used (listing tools sends no request). The release and CI workflows run it on
# every binary and image they build.
set -eu
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
OPENTRAIN_PERSONAL_API_TOKEN=ot_pat_smoketest00000000000000000000
export OPENTRAIN_PERSONAL_API_TOKEN

# The requests, then a pause before stdin closes (the server exits on end of input).
answers=$({
  printf '%s\n' \
    '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"smoke-test","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
  sleep 5
} | "$@")

case $answers in
  *"\"version\":\"$version\""*) ;;
  *) echo "smoke test: initialize did not answer version $version:" >&2; printf '%s\n' "$answers" >&2; exit 1 ;;
esac
tools=$(printf '%s\n' "$answers" | grep -o '"name":"opentrain_[a-z_]*"' | sort -u | wc -l | tr -d ' ')
if [ "$tools" -ne 41 ]; then
  echo "smoke test: tools/list served $tools tools, expected 41" >&2
  exit 1
fi
echo "smoke test: $* serves opentrain-mcp $version with 41 tools"
