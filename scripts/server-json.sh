#!/bin/sh
# Writes the server.json to publish to the MCP Registry for this release:
#
#   scripts/server-json.sh MCPB_DIR > server.json
#
# It is packaging/server.json with each MCP Bundle's fileSha256 set to the SHA-256 of the bundle
# of the same name in MCPB_DIR (opentrain-mcp-<platform>.mcpb, from scripts/package-mcpb.sh).
# Fails if a bundle is missing or if a version in packaging/server.json differs from Cargo.toml's.
# Needs node.
set -eu
if [ $# -ne 1 ]; then
  echo "usage: $0 MCPB_DIR > server.json" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
SERVER_JSON="$root/packaging/server.json" MCPB_DIR=$1 VERSION=$version node <<'JS'
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { SERVER_JSON, MCPB_DIR, VERSION } = process.env;
const server = JSON.parse(fs.readFileSync(SERVER_JSON, 'utf8'));
const fail = (message) => {
  process.stderr.write(`server-json: ${message}\n`);
  process.exit(1);
};
if (server.version !== VERSION) fail(`packaging/server.json has version ${server.version}, Cargo.toml ${VERSION}`);
for (const pkg of server.packages) {
  if (pkg.version !== undefined && pkg.version !== VERSION) {
    fail(`the ${pkg.registryType} package ${pkg.identifier} has version ${pkg.version}, Cargo.toml ${VERSION}`);
  }
  if (pkg.registryType !== 'mcpb') continue;
  const file = path.join(MCPB_DIR, path.basename(new URL(pkg.identifier).pathname));
  if (!fs.existsSync(file)) fail(`no bundle ${file} for ${pkg.identifier}`);
  pkg.fileSha256 = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
process.stdout.write(JSON.stringify(server, null, 2) + '\n');
JS
