'use strict';
// postinstall: on Linux and macOS, put the native binary in place of the JS launcher
// (bin/opentrain-mcp, which npm links into node_modules/.bin), as esbuild does. From then on the
// command an MCP client starts *is* the binary: no Node process starts or stays resident.
//
// This step is an optimisation only. It never fails the install: if anything is off (no platform
// package, a binary that does not answer --version with our version, a read-only tree, Yarn
// Plug'n'Play, Windows) the launcher stays and does the same job. OPENTRAIN_MCP_KEEP_LAUNCHER=1
// skips it.

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

function optimise() {
  if (process.platform === 'win32') return 'Windows keeps the launcher';
  if (process.env.OPENTRAIN_MCP_KEEP_LAUNCHER) return 'OPENTRAIN_MCP_KEEP_LAUNCHER is set';
  const agent = process.env.npm_config_user_agent || '';
  if (/\byarn\/(?!1\.)/.test(agent)) return "Yarn Plug'n'Play keeps packages in archives";

  const { binaryPath } = require('./platform.js');
  const bin = binaryPath();
  const { version } = require('./package.json');
  const answer = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10000 }).trim();
  if (answer !== `opentrain-mcp ${version}`) {
    return `the binary says ${JSON.stringify(answer)}, expected opentrain-mcp ${version}`;
  }

  const launcher = path.join(__dirname, 'bin', 'opentrain-mcp');
  const staged = `${launcher}.${process.pid}.tmp`;
  try {
    fs.linkSync(bin, staged);
  } catch (_) {
    fs.copyFileSync(bin, staged);
  }
  fs.chmodSync(staged, 0o755);
  fs.renameSync(staged, launcher);
  return null;
}

try {
  const kept = optimise();
  if (kept && process.env.OPENTRAIN_MCP_DEBUG_INSTALL) {
    process.stderr.write(`opentrain-mcp: keeping the launcher (${kept})\n`);
  }
} catch (e) {
  if (process.env.OPENTRAIN_MCP_DEBUG_INSTALL) {
    process.stderr.write(`opentrain-mcp: keeping the launcher (${e.message})\n`);
  }
}
