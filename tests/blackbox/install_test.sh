#!/bin/bash
# install_test.sh: `cmake --install` into a temporary DESTDIR (issue 13): the tree holds felt,
# feltd, both man pages (they render), the completions where bash, zsh and fish look, the
# example bots, the docs, the systemd unit (naming the installed feltd, and verified by
# systemd-analyze) and the config file an installed feltd reads by default; then the installed
# binaries run from there: `feltd --version`, and `felt replay` of an installed example hand.
#
#   usage: install_test.sh BUILD_DIR
# The build folder's prefix is whatever it was configured with (/usr/local by default); the
# paths checked are read from its CMakeCache.txt. Nothing is written outside a temp dir.
set -u
BUILD=$1
DEST=$(mktemp -d /tmp/felt-install.XXXXXX)
trap 'rm -rf "$DEST"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cache() { sed -n "s|^$1:[A-Z]*=||p" "$BUILD/CMakeCache.txt"; }

PREFIX=$(cache CMAKE_INSTALL_PREFIX)
[ -n "$PREFIX" ] || { echo "FAIL: no CMAKE_INSTALL_PREFIX in $BUILD/CMakeCache.txt"; exit 1; }
DESTDIR=$DEST timeout 60 cmake --install "$BUILD" > "$DEST.log" 2>&1 ||
    { echo "FAIL: cmake --install: $(tail -5 "$DEST.log")"; rm -f "$DEST.log"; exit 1; }
rm -f "$DEST.log"
ROOT=$DEST$PREFIX
# /etc for a /usr install (GNUInstallDirs), PREFIX/etc otherwise
case $PREFIX in /usr) ETC=$DEST/etc ;; *) ETC=$ROOT/etc ;; esac

for f in bin/felt bin/feltd; do
    [ -x "$ROOT/$f" ] || fail "$f is not installed as a program"
done
for f in share/man/man1/felt.1.gz share/man/man8/feltd.8.gz \
    share/bash-completion/completions/felt share/bash-completion/completions/feltd \
    share/zsh/vendor-completions/_felt share/zsh/vendor-completions/_feltd \
    share/fish/vendor_completions.d/felt.fish share/fish/vendor_completions.d/feltd.fish \
    share/doc/felt/README.md share/doc/felt/protocol.md share/doc/felt/hand-format.md \
    share/doc/felt/copyright share/doc/felt/changelog.gz \
    lib/systemd/system/feltd.service; do
    [ -s "$ROOT/$f" ] || fail "$f is not installed"
done
for f in share/doc/felt/examples/bot.sh share/doc/felt/examples/bot.py; do
    [ -x "$ROOT/$f" ] || fail "$f is not installed as a program"
done
[ -s "$ETC/felt/feltd.conf" ] || fail "the config file is not installed in $ETC/felt"
# Every setting in the installed config file is commented out: installing changes nothing.
grep -Ev '^\s*(#|$)' "$ETC/felt/feltd.conf" && fail "the installed feltd.conf sets something"

# The man pages render from where they were installed.
for page in man1/felt.1.gz man8/feltd.8.gz; do
    # (mandoc -T ascii overstrikes bold text: "X\bX"; sed takes the backspaces out)
    out=$(gzip -dc "$ROOT/share/man/$page" | mandoc -T ascii 2>&1 | sed 's/.\x08//g')
    echo "$out" | grep -q "^EXIT STATUS" || fail "$page does not render: $(echo "$out" | head -3)"
done

# The installed binaries run, and feltd knows the config file it would read.
"$ROOT/bin/feltd" --version | grep -Eq '^feltd [0-9]+\.[0-9]+\.[0-9]+' ||
    fail "the installed feltd --version: $("$ROOT/bin/feltd" --version 2>&1)"
"$ROOT/bin/feltd" --help | grep -q " ${ETC#"$DEST"}/felt/feltd.conf if it exists" ||
    fail "the installed feltd does not name ${ETC#"$DEST"}/felt/feltd.conf as its config file"
hand=$ROOT/share/doc/felt/examples/hands/river-showdown.json
if [ ! -s "$hand" ]; then
    fail "the example hand river-showdown.json is not installed"
else
    out=$(timeout 10 "$ROOT/bin/felt" replay "$hand" 2>&1)
    [ $? = 0 ] && echo "$out" | grep -q "seat 1: eve (1,000) \[A.* A.*\]" ||
        fail "the installed felt replay $hand: $(echo "$out" | head -3)"
fi

# The unit names the installed feltd; systemd-analyze verifies it (ExecStart pointed at the
# DESTDIR copy, which is where the binary is here; the man page found through MANPATH).
unit=$ROOT/lib/systemd/system/feltd.service
grep -q "^ExecStart=$PREFIX/bin/feltd\$" "$unit" || fail "the unit's ExecStart: $(grep ExecStart "$unit")"
if command -v systemd-analyze > /dev/null; then
    mkdir -p "$DEST/verify"
    sed "s|^ExecStart=$PREFIX/bin/feltd|ExecStart=$ROOT/bin/feltd|" "$unit" > "$DEST/verify/feltd.service"
    out=$(cd "$DEST/verify" && MANPATH=$ROOT/share/man timeout 30 systemd-analyze verify feltd.service 2>&1)
    [ $? = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify: $out"
else
    fail "systemd-analyze is not installed (apt-get install systemd)"
fi

if [ "$fails" -gt 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "PASS: installed into DESTDIR=$DEST with prefix $PREFIX"
