# shellcheck shell=bash
# Sourced by .ci/run after packaging-tools.sh (it uses ci_apt_get and $ci_tools from there): the
# tools of the remote-mode tests, each install guarded (a failure is a note here and a SKIP in the
# test that needs it):
#   nginx                   tests/http_nginx.rs (three instances behind it), tests/deploy.rs (nginx -t)
#   target/ci-tools/venv-deploy, pinned from PyPI:
#     kubernetes-validate   tests/deploy.rs: the manifests against Kubernetes' own schemas, offline
#     mcp                   tests/http_nginx.rs: the official Python SDK's Streamable HTTP client
# The venv is kept between runs (target/ is), so only the first run downloads anything.

ci_tools="${ci_tools:-$PWD/target/ci-tools}"

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  # Debian's postinst would start the packaged nginx on :80 where no policy-rc.d forbids it; the
  # tests run their own nginx, so nothing is started here.
  if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" = 0 ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    ci_policy_rc_d_added=1
  fi
  ci_apt_get nginx || echo "note: nginx unavailable; tests/http_nginx.rs and the nginx -t check will SKIP"
  if [ -n "${ci_policy_rc_d_added:-}" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

ci_deploy_venv="$ci_tools/venv-deploy"
ci_deploy_pins="kubernetes-validate==1.37.0 mcp==2.3.0"
if [ "$(cat "$ci_deploy_venv/.pins" 2>/dev/null)" != "$ci_deploy_pins" ]; then
  rm -rf "$ci_deploy_venv"
  # shellcheck disable=SC2086 # the pins are words
  if python3 -m venv "$ci_deploy_venv" >/dev/null 2>&1 \
    && "$ci_deploy_venv/bin/pip" install -q --only-binary=:all: $ci_deploy_pins >/dev/null 2>&1; then
    echo "$ci_deploy_pins" >"$ci_deploy_venv/.pins"
  else
    rm -rf "$ci_deploy_venv"
    echo "note: kubernetes-validate/mcp could not be installed from PyPI; their checks will SKIP"
  fi
fi

echo "== remote-mode tools: $(
  if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then printf 'nginx '; else printf '(no nginx) '; fi
  if [ -f "$ci_deploy_venv/.pins" ]; then printf '%s' "$ci_deploy_pins"; else printf '(no venv-deploy)'; fi
)"
