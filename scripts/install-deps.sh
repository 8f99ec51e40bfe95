#!/bin/sh
# Installs the Debian packages felt needs to build and test, only if some are missing.
# Runs apt-get as root, or through sudo when not root.
set -eu
PKGS="build-essential cmake pkg-config libwebsockets-dev libjson-c-dev libncurses-dev
libreadline-dev libcmocka-dev libicu-dev libsqlite3-dev libssl-dev libev-dev libwebsockets-evlib-ev libhiredis-dev redis-server libpq-dev postgresql-15 tmux jq python3 clang libclang-rt-dev
valgrind openssl
curl mandoc man-db lintian dpkg-dev systemd bash-completion zsh fish"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "felt: installing missing packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
