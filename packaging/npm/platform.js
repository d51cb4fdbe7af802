'use strict';
// Which prebuilt package serves this machine. Shared by the launcher (bin/opentrain-mcp) and the
// postinstall step (install.js); scripts/package-npm.sh writes the same names into package.json.

const path = require('path');

// `${process.platform}-${process.arch}` -> the optional dependency that carries the binary.
const PACKAGES = {
  'linux-x64': '@opentrain-mcp/linux-x64',
  'linux-arm64': '@opentrain-mcp/linux-arm64',
  'darwin-x64': '@opentrain-mcp/darwin-x64',
  'darwin-arm64': '@opentrain-mcp/darwin-arm64',
  'win32-x64': '@opentrain-mcp/win32-x64',
};

const EXE = process.platform === 'win32' ? 'opentrain-mcp.exe' : 'opentrain-mcp';

class MissingBinary extends Error {}

// The native binary's path, or a MissingBinary error that says what to do.
function binaryPath() {
  const override = process.env.OPENTRAIN_MCP_BINARY;
  if (override) return path.resolve(override);
  const key = `${process.platform}-${process.arch}`;
  const pkg = PACKAGES[key];
  if (!pkg) {
    throw new MissingBinary(
      `opentrain-mcp: no prebuilt binary for ${key} (there are: ${Object.keys(PACKAGES).join(', ')}). ` +
        'Build it from source with `cargo install --locked opentrain-mcp` (Rust 1.89 or newer), ' +
        'or set OPENTRAIN_MCP_BINARY to a binary you built.',
    );
  }
  try {
    return require.resolve(`${pkg}/${EXE}`);
  } catch (_) {
    throw new MissingBinary(
      `opentrain-mcp: the package ${pkg}, which carries the binary for ${key}, is not installed. ` +
        'It is an optional dependency of opentrain-mcp: install again without --no-optional, ' +
        '--omit=optional or an `os`/`cpu` override, or use another route from the README ' +
        '(release archive, cargo install --locked opentrain-mcp).',
    );
  }
}

module.exports = { PACKAGES, EXE, MissingBinary, binaryPath };
