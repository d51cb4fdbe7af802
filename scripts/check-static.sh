#!/bin/sh
# Fails unless each given ELF binary is statically linked: no program interpreter and no shared
# library it needs. The README calls the Linux release binaries static; CI and the release
# workflow run this on every one they build. Needs readelf (binutils).
#
#   scripts/check-static.sh BINARY...
set -eu
if [ $# -eq 0 ]; then
  echo "usage: $0 BINARY..." >&2
  exit 2
fi
status=0
for binary in "$@"; do
  headers=$(readelf --program-headers --dynamic "$binary") || { echo "$binary: not an ELF file" >&2; status=1; continue; }
  if printf '%s\n' "$headers" | grep -q 'Requesting program interpreter'; then
    echo "$binary: dynamically linked (has a program interpreter)" >&2
    status=1
  elif printf '%s\n' "$headers" | grep -q '(NEEDED)'; then
    echo "$binary: needs shared libraries:" >&2
    printf '%s\n' "$headers" | grep '(NEEDED)' >&2
    status=1
  else
    echo "$binary: statically linked"
  fi
done
exit "$status"
