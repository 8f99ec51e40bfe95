#!/bin/bash
# package_test.sh: the Debian package (issue 13). Configures a Release build for /usr in a
# temporary folder, builds felt and feltd, runs `cpack -G DEB`, and checks the .deb:
#   - its Depends were derived by dpkg-shlibdeps (libwebsockets, json-c, ncursesw, readline,
#     SQLite, ICU, libev, libcrypto, each with a version) plus the lws event-loop plugin;
#   - it holds the binaries, man pages, completions, docs, unit and /etc/felt/feltd.conf (a
#     conffile), nothing under /usr/local or the build folder;
#   - lintian reports no errors (its warnings are printed, for the record).
#
#   usage: package_test.sh SOURCE_DIR
set -u
SRC=$1
WORK=$(mktemp -d /tmp/felt-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { # run STEP CMD...: bounded, its output kept in $WORK/STEP.log, stop the test on failure
    local step=$1
    shift
    timeout 900 "$@" > "$WORK/$step.log" 2>&1 ||
        { echo "FAIL: $step: $*"; tail -20 "$WORK/$step.log"; exit 1; }
}

run configure cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
run build cmake --build "$WORK/build" -j "$(nproc)" --target felt feltd felt_man felt_changelog
run cpack sh -c "cd '$WORK/build' && cpack -G DEB"
deb=$(ls "$WORK"/build/felt_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "FAIL: cpack made no felt_*.deb: $(tail -5 "$WORK/cpack.log")"; exit 1; }
echo "package: $(basename "$deb")"

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libwebsockets libjson-c libncursesw libreadline libsqlite3 libicu libev libssl \
    libc6 libwebsockets-evlib-ev; do
    echo "$depends" | grep -Eq "(^|, )$lib[0-9a-z.-]* *(\(|,|$)" || fail "Depends lacks $lib"
done
echo "$depends" | grep -q "libwebsockets[0-9]* (>=" || fail "Depends are not versioned (not from dpkg-shlibdeps)"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$WORK/files"
for f in /usr/bin/felt /usr/bin/feltd /usr/share/man/man1/felt.1.gz \
    /usr/share/man/man8/feltd.8.gz /usr/share/bash-completion/completions/felt \
    /usr/share/zsh/vendor-completions/_feltd /usr/share/fish/vendor_completions.d/felt.fish \
    /usr/share/doc/felt/copyright /usr/share/doc/felt/changelog.gz \
    /usr/share/doc/felt/examples/bot.py /usr/lib/systemd/system/feltd.service \
    /etc/felt/feltd.conf; do
    grep -qx "$f" "$WORK/files" || fail "the package lacks $f"
done
grep -E '^/usr/local|/tmp/' "$WORK/files" && fail "the package holds files outside /usr and /etc"
dpkg-deb -I "$deb" conffiles | grep -qx /etc/felt/feltd.conf || fail "feltd.conf is not a conffile"

# The packaged feltd runs, and reads /etc/felt/feltd.conf by default.
mkdir "$WORK/x" && dpkg-deb -x "$deb" "$WORK/x"
"$WORK/x/usr/bin/feltd" --help | grep -q " /etc/felt/feltd.conf if it exists" ||
    fail "the packaged feltd does not read /etc/felt/feltd.conf"
grep -q '^ExecStart=/usr/bin/feltd$' "$WORK/x/usr/lib/systemd/system/feltd.service" ||
    fail "the packaged unit does not start /usr/bin/feltd"

if command -v lintian > /dev/null; then
    timeout 600 lintian --no-cfg "$deb" > "$WORK/lintian.log" 2>&1
    echo "lintian:"
    sed 's/^/  /' "$WORK/lintian.log"
    grep -q '^E: ' "$WORK/lintian.log" && fail "lintian reports errors"
else
    fail "lintian is not installed (apt-get install lintian)"
fi

if [ "$fails" -gt 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "PASS: $(basename "$deb")"
