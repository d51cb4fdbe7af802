#!/bin/sh
# Builds the npm packages from one native binary:
#
#   scripts/package-npm.sh BINARY OUTDIR [PLATFORM]
#
# PLATFORM is the binary's platform as Node names it: linux-x64, linux-arm64, darwin-x64,
# darwin-arm64 or win32-x64 (default: this machine's). OUTDIR receives two tarballs made by
# `npm pack`:
#
#   opentrain-mcp-<version>.tgz              the main package: launcher, postinstall, mcpName, and
#                                            the five platform packages as optionalDependencies
#   opentrain-mcp-<platform>-<version>.tgz   @opentrain-mcp/<platform>, carrying BINARY
#
# The release workflow runs it once per target (the main tarball comes out the same each time);
# tests/packaging.rs installs the two tarballs offline and talks MCP to the result through npx.
# The version is Cargo.toml's. Needs node and npm.
set -eu

usage() { echo "usage: $0 BINARY OUTDIR [linux-x64|linux-arm64|darwin-x64|darwin-arm64|win32-x64]" >&2; exit 2; }
if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
binary=$1
outdir=$2
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$binary" ] || { echo "$0: no binary at $binary" >&2; exit 1; }
for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$0: needs $tool" >&2; exit 1; }
done

platform=${3:-$(node -p 'process.platform + "-" + process.arch')}
case $platform in
  linux-x64) description="Linux x86-64, statically linked (musl)" ;;
  linux-arm64) description="Linux arm64, statically linked (musl)" ;;
  darwin-x64) description="macOS x86-64" ;;
  darwin-arm64) description="macOS arm64 (Apple silicon)" ;;
  win32-x64) description="Windows x86-64" ;;
  *) echo "$0: unknown platform $platform" >&2; usage ;;
esac
os=${platform%-*}
cpu=${platform#*-}
exe=opentrain-mcp
[ "$os" = win32 ] && exe=opentrain-mcp.exe

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
[ -n "$version" ] || { echo "$0: no version in Cargo.toml" >&2; exit 1; }

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM

# The platform package: the binary, executable, and nothing to run at install.
mkdir -p "$stage/platform"
cp "$binary" "$stage/platform/$exe"
chmod 755 "$stage/platform/$exe"
cp "$root/LICENSE" "$stage/platform/LICENSE"
cat > "$stage/platform/README.md" <<README
# @opentrain-mcp/$platform

The \`opentrain-mcp\` binary for $description. Install the \`opentrain-mcp\` package rather
than this one: it picks the right platform package for the machine. Source:
<https://github.com/opentrain-mcp/opentrain-mcp>.
README

# The main package: launcher, shared platform table, postinstall, docs.
mkdir -p "$stage/main/bin"
cp "$root/packaging/npm/bin/opentrain-mcp" "$stage/main/bin/opentrain-mcp"
chmod 755 "$stage/main/bin/opentrain-mcp"
cp "$root/packaging/npm/platform.js" "$root/packaging/npm/install.js" "$root/packaging/npm/README.md" "$stage/main/"
cp "$root/LICENSE" "$stage/main/LICENSE"

VERSION=$version PLATFORM=$platform OS=$os CPU=$cpu EXE=$exe DESCRIPTION=$description STAGE=$stage node <<'JS'
const fs = require('fs');
const { VERSION, PLATFORM, OS, CPU, EXE, DESCRIPTION, STAGE } = process.env;
const common = {
  version: VERSION,
  license: 'MIT',
  homepage: 'https://github.com/opentrain-mcp/opentrain-mcp#readme',
  repository: { type: 'git', url: 'git+https://github.com/opentrain-mcp/opentrain-mcp.git' },
  bugs: { url: 'https://github.com/opentrain-mcp/opentrain-mcp/issues' },
};
const platforms = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64'];
const main = {
  name: 'opentrain-mcp',
  ...common,
  description: 'MCP server for the OpenTrain data-labeling marketplace: all 41 OpenTrain tools, as one native binary',
  keywords: ['mcp', 'mcp-server', 'model-context-protocol', 'opentrain', 'claude', 'agents'],
  mcpName: 'io.github.opentrain-mcp/opentrain-mcp',
  bin: { 'opentrain-mcp': 'bin/opentrain-mcp' },
  files: ['bin/opentrain-mcp', 'platform.js', 'install.js', 'README.md', 'LICENSE'],
  scripts: { postinstall: 'node install.js' },
  engines: { node: '>=18' },
  optionalDependencies: Object.fromEntries(platforms.map((p) => [`@opentrain-mcp/${p}`, VERSION])),
};
const platform = {
  name: `@opentrain-mcp/${PLATFORM}`,
  ...common,
  description: `The opentrain-mcp binary for ${DESCRIPTION}`,
  os: [OS],
  cpu: [CPU],
  files: [EXE, 'README.md', 'LICENSE'],
  preferUnplugged: true,
};
fs.writeFileSync(`${STAGE}/main/package.json`, JSON.stringify(main, null, 2) + '\n');
fs.writeFileSync(`${STAGE}/platform/package.json`, JSON.stringify(platform, null, 2) + '\n');
JS

for dir in main platform; do
  (cd "$stage/$dir" && npm pack --silent --pack-destination "$outdir" >/dev/null)
done
ls "$outdir/opentrain-mcp-$version.tgz" "$outdir/opentrain-mcp-$platform-$version.tgz"
