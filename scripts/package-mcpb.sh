#!/bin/sh
# Builds the MCP Bundle (.mcpb, one-click install in Claude Desktop) for one platform:
#
#   scripts/package-mcpb.sh BINARY OUTDIR [PLATFORM]
#
# PLATFORM is linux-x64, linux-arm64, darwin-x64, darwin-arm64 or win32-x64 (default: this
# machine's, as Node names it). Writes OUTDIR/opentrain-mcp-<platform>.mcpb: the manifest of
# packaging/mcpb/manifest.json (its compatibility narrowed to this OS) and BINARY as
# server/opentrain-mcp (server/opentrain-mcp.exe on Windows), packed and validated by the official
# CLI, @anthropic-ai/mcpb: `mcpb` on PATH, else $MCPB, else `npx -y @anthropic-ai/mcpb@2.1.2`.
set -eu

usage() { echo "usage: $0 BINARY OUTDIR [linux-x64|linux-arm64|darwin-x64|darwin-arm64|win32-x64]" >&2; exit 2; }
if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
binary=$1
outdir=$2
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$binary" ] || { echo "$0: no binary at $binary" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "$0: needs node" >&2; exit 1; }

platform=${3:-$(node -p 'process.platform + "-" + process.arch')}
case $platform in
  linux-x64 | linux-arm64 | darwin-x64 | darwin-arm64 | win32-x64) ;;
  *) echo "$0: unknown platform $platform" >&2; usage ;;
esac
os=${platform%-*}
exe=opentrain-mcp
[ "$os" = win32 ] && exe=opentrain-mcp.exe

if command -v mcpb >/dev/null 2>&1; then
  set -- mcpb
elif [ -n "${MCPB:-}" ]; then
  # shellcheck disable=SC2086 # MCPB may be a command with arguments
  set -- $MCPB
else
  set -- npx -y @anthropic-ai/mcpb@2.1.2
fi

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM

mkdir -p "$stage/server"
cp "$binary" "$stage/server/$exe"
chmod 755 "$stage/server/$exe"
cp "$root/LICENSE" "$stage/LICENSE"
MANIFEST="$root/packaging/mcpb/manifest.json" OUT="$stage/manifest.json" OS=$os EXE=$exe VERSION=$version node <<'JS'
const fs = require('fs');
const { MANIFEST, OUT, OS, EXE, VERSION } = process.env;
const manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8'));
if (manifest.version !== VERSION) {
  console.error(`packaging/mcpb/manifest.json says version ${manifest.version}, Cargo.toml ${VERSION}`);
  process.exit(1);
}
manifest.server.entry_point = `server/${EXE}`;
manifest.compatibility = { ...manifest.compatibility, platforms: [OS] };
fs.writeFileSync(OUT, JSON.stringify(manifest, null, 2) + '\n');
JS

"$@" validate "$stage/manifest.json" >&2
bundle="$outdir/opentrain-mcp-$platform.mcpb"
rm -f "$bundle"
"$@" pack "$stage" "$bundle" >&2
echo "$bundle"
