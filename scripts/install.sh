#!/bin/sh
# Installs the opentrain-mcp binary from the project's GitHub releases:
#
#   curl -fsSL https://github.com/opentrain-mcp/opentrain-mcp/releases/latest/download/install.sh | sh
#
# It picks the archive for this machine (Linux x86-64/arm64: static musl builds, any distribution;
# macOS Intel/Apple silicon), downloads it with its .sha256 file, refuses to install unless the
# SHA-256 matches, and copies the binary to ~/.local/bin (or $OPENTRAIN_MCP_INSTALL_DIR). It needs
# curl or wget, tar, and sha256sum, shasum or openssl. It never runs anything it downloaded except
# `opentrain-mcp --version`, and never edits shell profiles or client configurations.
#
# Settings (environment variables):
#   OPENTRAIN_MCP_VERSION       a release such as 0.2.0 (default: the latest release)
#   OPENTRAIN_MCP_INSTALL_DIR   where the binary goes (default: $HOME/.local/bin)
#   OPENTRAIN_MCP_DOWNLOAD_URL  where the archives are (default: the GitHub release), for mirrors
#
# Windows: use npm (`npx -y opentrain-mcp`) or the .zip archive of the release.
set -eu

REPO_URL=https://github.com/opentrain-mcp/opentrain-mcp

say() { printf '%s\n' "opentrain-mcp install: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# The release target this machine runs.
detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case $arch in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) die "no prebuilt binary for the $arch processor; build it with \`cargo install --locked opentrain-mcp\` (Rust 1.89+)" ;;
  esac
  case $os in
    Linux) echo "$arch-unknown-linux-musl" ;;
    Darwin)
      # An x86-64 shell under Rosetta on Apple silicon still gets the native build.
      if [ "$arch" = x86_64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
        arch=aarch64
      fi
      echo "$arch-apple-darwin"
      ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
      die "on Windows use npm (npx -y opentrain-mcp) or the .zip archive from $REPO_URL/releases" ;;
    *) die "no prebuilt binary for $os; build it with \`cargo install --locked opentrain-mcp\` (Rust 1.89+)" ;;
  esac
}

# download URL FILE: HTTPS only (redirects included), except from this machine's loopback.
download() {
  case $1 in
    http://127.0.0.1[:/]* | http://localhost[:/]* | http://\[::1\][:/]*) proto='=http' only= ;;
    *) proto='=https' only=--https-only ;;
  esac
  if command -v curl >/dev/null 2>&1; then
    curl --proto "$proto" --proto-redir "$proto" -fsSL --retry 3 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q $only -O "$2" "$1"
  else
    die "needs curl or wget"
  fi
}

# The SHA-256 of FILE, in lowercase hex.
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sum=$(sha256sum "$1")
  elif command -v shasum >/dev/null 2>&1; then
    sum=$(shasum -a 256 "$1")
  elif command -v openssl >/dev/null 2>&1; then
    sum=$(openssl dgst -sha256 -r "$1")
  else
    die "needs sha256sum, shasum or openssl to verify the download"
  fi
  printf '%s\n' "${sum%% *}" | tr 'A-F' 'a-f'
}

main() {
  target=$(detect_target)
  version=${OPENTRAIN_MCP_VERSION:-}
  version=${version#v}
  if [ -n "${OPENTRAIN_MCP_DOWNLOAD_URL:-}" ]; then
    base=${OPENTRAIN_MCP_DOWNLOAD_URL%/}
  elif [ -n "$version" ]; then
    base=$REPO_URL/releases/download/v$version
  else
    base=$REPO_URL/releases/latest/download
  fi
  [ -n "${HOME:-}" ] || [ -n "${OPENTRAIN_MCP_INSTALL_DIR:-}" ] || die "HOME is not set; set OPENTRAIN_MCP_INSTALL_DIR"
  dir=${OPENTRAIN_MCP_INSTALL_DIR:-$HOME/.local/bin}
  archive=opentrain-mcp-$target.tar.gz

  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT INT TERM

  say "downloading $base/$archive"
  download "$base/$archive" "$tmp/$archive" || die "could not download $base/$archive"
  download "$base/$archive.sha256" "$tmp/$archive.sha256" || die "could not download $base/$archive.sha256"

  expected=$(sed -n '1s/^\([0-9a-fA-F]\{64\}\).*/\1/p' "$tmp/$archive.sha256" | tr 'A-F' 'a-f')
  [ -n "$expected" ] || die "$archive.sha256 holds no SHA-256"
  actual=$(sha256_of "$tmp/$archive")
  if [ "$actual" != "$expected" ]; then
    die "checksum mismatch for $archive: expected $expected, got $actual; nothing was installed"
  fi
  say "checksum verified (sha256 $actual)"

  tar -xzf "$tmp/$archive" -C "$tmp" || die "could not unpack $archive"
  binary=$tmp/opentrain-mcp-$target/opentrain-mcp
  [ -f "$binary" ] || die "$archive holds no opentrain-mcp-$target/opentrain-mcp"

  mkdir -p "$dir" || die "cannot create $dir"
  # Copy next to the destination, then rename: a running copy is never overwritten in place.
  cp "$binary" "$dir/.opentrain-mcp.$$" || die "cannot write to $dir"
  chmod 755 "$dir/.opentrain-mcp.$$"
  mv -f "$dir/.opentrain-mcp.$$" "$dir/opentrain-mcp"
  installed=$("$dir/opentrain-mcp" --version) || die "the installed binary does not run: $dir/opentrain-mcp"
  say "installed $installed at $dir/opentrain-mcp"

  case :${PATH:-}: in
    *:"$dir":*) command=opentrain-mcp ;;
    *)
      command=$dir/opentrain-mcp
      say "$dir is not on PATH: use the full path below, or add $dir to PATH"
      ;;
  esac
  say "next: add it to your MCP client, e.g. for Claude Code:"
  printf '  claude mcp add opentrain -- %s\n' "$command" >&2
}

main "$@"
