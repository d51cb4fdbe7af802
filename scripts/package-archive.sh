#!/bin/sh
# Packs one release binary the way the release workflow attaches it, and the way
# scripts/install.sh and `cargo binstall` (Cargo.toml's [package.metadata.binstall]) expect it:
#
#   scripts/package-archive.sh BINARY TARGET OUTDIR
#
# writes OUTDIR/opentrain-mcp-TARGET.tar.gz (.zip for a Windows TARGET), holding the directory
# opentrain-mcp-TARGET/ with the binary, README.md and LICENSE, and next to it
# OUTDIR/opentrain-mcp-TARGET.tar.gz.sha256 in `sha256sum` format. Archive names carry no version,
# so .../releases/latest/download/<name> always names the newest.
set -eu

if [ $# -ne 3 ]; then
  echo "usage: $0 BINARY TARGET OUTDIR   (TARGET e.g. x86_64-unknown-linux-musl)" >&2
  exit 2
fi
binary=$1
target=$2
outdir=$3
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$binary" ] || { echo "$0: no binary at $binary" >&2; exit 1; }

name=opentrain-mcp-$target
exe=opentrain-mcp
case $target in *windows*) exe=opentrain-mcp.exe ;; esac

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
mkdir "$stage/$name"
cp "$binary" "$stage/$name/$exe"
chmod 755 "$stage/$name/$exe"
cp "$root/README.md" "$root/LICENSE" "$stage/$name/"

case $target in
  *windows*)
    archive=$name.zip
    rm -f "$outdir/$archive"
    if command -v zip >/dev/null 2>&1; then
      (cd "$stage" && zip -qr "$outdir/$archive" "$name")
    elif command -v 7z >/dev/null 2>&1; then
      (cd "$stage" && 7z a -tzip -bd "$outdir/$archive" "$name" >/dev/null)
    else
      echo "$0: needs zip or 7z for a Windows archive" >&2
      exit 1
    fi
    ;;
  *)
    archive=$name.tar.gz
    (cd "$stage" && tar -czf "$outdir/$archive" "$name")
    ;;
esac

if command -v sha256sum >/dev/null 2>&1; then
  sum=$(sha256sum "$outdir/$archive")
else
  sum=$(shasum -a 256 "$outdir/$archive")
fi
printf '%s  %s\n' "${sum%% *}" "$archive" >"$outdir/$archive.sha256"
echo "$outdir/$archive"
