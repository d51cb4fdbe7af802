#!/usr/bin/env bash
# Headless Chromium for tests/sandbox_browser.rs (the sandbox's human pages in a real browser):
# Debian's chromium and chromium-driver. Guarded: when they cannot be installed (no apt-get, not
# root, no registry), this prints a note and the test prints SKIP instead of failing.
set -u
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "== chromium: $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "== installing chromium and chromium-driver (apt-get)"
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/tmp/ci-chromium.log 2>&1; then
    echo "== chromium: $(chromium --version 2>/dev/null | head -1)"
    exit 0
  fi
  tail -5 /tmp/ci-chromium.log
fi
echo "note: chromium/chromium-driver could not be installed; tests/sandbox_browser.rs will SKIP"
exit 0
