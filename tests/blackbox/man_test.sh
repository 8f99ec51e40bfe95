#!/bin/bash
# man_test.sh: checks the manual pages docs/man/felt.1 and docs/man/feltd.8 against the programs.
#   1. mandoc -T lint -W style reports nothing on either page. The one message let through is
#      "referenced manual not found" for a page of another package (systemd.exec(5),
#      journalctl(1)): whether that is installed is a property of the machine (CI images often
#      carry no manuals), not of our pages. The two pages are looked up in a manual tree of their
#      own, so a wrong reference between them (felt(1), feltd(8)) still fails.
#   2. Every long option that `felt --help`, `felt replay --help`, `felt history --help` print is
#      documented in felt.1, and every one that `feltd --help` prints in feltd.8: it has a list
#      entry of its own in the source (.It ... Fl \-NAME) and appears as --NAME in the rendered
#      page. Only help -> page: a page may document more (options not in --help yet).
#   3. Both pages have NAME, SYNOPSIS, DESCRIPTION, ENVIRONMENT, FILES, EXIT STATUS, EXAMPLES and
#      SEE ALSO; felt.1's SYNOPSIS shows `felt replay` and `felt history`; each page's footer
#      names the version the programs print.
# Needs mandoc (Debian package mandoc). No network, no server: the programs only print their help.
#
#   usage: man_test.sh SRCDIR FELT FELTD
# Exit 0 when everything holds, 1 naming each failure, 2 for a usage error.
set -u
if [ $# -ne 3 ]; then
    echo "usage: man_test.sh SRCDIR FELT FELTD" >&2
    exit 2
fi
SRC=$1
FELT=$2
FELTD=$3
FELT1=$SRC/docs/man/felt.1
FELTD8=$SRC/docs/man/feltd.8
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for f in "$FELT1" "$FELTD8"; do
    [ -r "$f" ] || { echo "FAIL: $f is missing"; exit 1; }
done
for p in "$FELT" "$FELTD"; do
    [ -x "$p" ] || { echo "FAIL: $p is not an executable"; exit 1; }
done
if ! command -v mandoc > /dev/null; then
    echo "FAIL: mandoc is not installed (apt-get install mandoc)"
    exit 1
fi

WORK=$(mktemp -d /tmp/felt-man.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/man/man1" "$WORK/man/man8"
cp "$FELT1" "$WORK/man/man1/felt.1"
cp "$FELTD8" "$WORK/man/man8/feltd.8"

# ---- 1. lint ------------------------------------------------------------------------------
# Both pages in one run, from their own tree first in MANPATH (then the system's, where the
# other packages' pages live when they are installed). mandoc's lint messages go to stdout; on
# stderr it also says that a manual tree has no up-to-date mandoc.db, which is about the
# machine's database, not about a page.
(cd "$WORK" && MANPATH="$WORK/man:/usr/local/share/man:/usr/share/man" \
    timeout 60 mandoc -T lint -W style man/man1/felt.1 man/man8/feltd.8 \
    > "$WORK/lint.out" 2> "$WORK/lint.err")
lint_rc=$?
grep -v 'outdated mandoc.db' "$WORK/lint.err" > "$WORK/lint.err2"
# "referenced manual not found: Xr NAME SECTION" is excused for the pages of other packages
# (above), never for felt or feltd, whatever the section.
grep -Ev 'STYLE: referenced manual not found: Xr [^ ]+ [0-9]' "$WORK/lint.out" > "$WORK/lint.bad"
grep -E 'STYLE: referenced manual not found: Xr (felt|feltd) [0-9]' "$WORK/lint.out" \
    >> "$WORK/lint.bad"
if [ "$lint_rc" -ge 2 ] || [ -s "$WORK/lint.bad" ] || [ -s "$WORK/lint.err2" ]; then
    fail "mandoc -T lint -W style (exit $lint_rc) reports:"
    sed 's/^/    /' "$WORK/lint.bad" "$WORK/lint.err2"
    [ -s "$WORK/lint.bad" ] || [ -s "$WORK/lint.err2" ] || sed 's/^/    /' "$WORK/lint.out"
else
    excused=$(grep -Eo 'Xr [^ ]+ [0-9]+' "$WORK/lint.out" | sort -u | sed 's/^Xr //' |
        tr '\n' ',' | sed 's/,$//; s/,/, /g')
    echo "ok: mandoc -T lint -W style: felt.1 and feltd.8 are clean" \
        "${excused:+(not installed here, so not checked: $excused)}" | sed 's/ *$//'
fi

# ---- rendering ----------------------------------------------------------------------------
# Plain text, wide enough that no option is broken across lines; the overstrikes of bold and
# underlined text are removed (no col(1) needed).
render() {
    timeout 60 mandoc -T ascii -O width=200 "$1" | sed 's/.\x08//g'
}
render "$WORK/man/man1/felt.1" > "$WORK/felt.txt"
render "$WORK/man/man8/feltd.8" > "$WORK/feltd.txt"
for t in felt feltd; do
    [ "$(wc -l < "$WORK/$t.txt")" -ge 50 ] || fail "$t's page renders to almost nothing"
done

# ---- 2. every option of --help is documented ----------------------------------------------
# check_help PAGE_SOURCE RENDERED LABEL CMD...: runs CMD (its --help), takes the long options
# it prints and checks each against the page.
check_help() {
    local src=$1 txt=$2 label=$3
    shift 3
    local out rc opts n=0 missing=0
    out=$(timeout 10 "$@" 2>&1)
    rc=$?
    if [ "$rc" != 0 ]; then
        fail "'$label' exited $rc: $(printf '%s' "$out" | head -c 300)"
        return
    fi
    opts=$(printf '%s\n' "$out" | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u)
    # The source's list entries, with \- read as -: ".It Fl \-name" and ".It Fl -name" alike.
    local items
    items=$(grep -E '^\.It( |$)' "$src" | sed 's/\\-/-/g')
    for opt in $opts; do
        n=$((n + 1))
        local bare=${opt#--}
        if ! printf '%s\n' "$items" | grep -qE -- "(^| )Fl -${bare}( |\$)"; then
            fail "$(basename "$src") has no list entry (.It Fl \\-$bare) for $opt, which '$label' prints"
            missing=$((missing + 1))
        fi
        if ! grep -qE -- "(^|[^A-Za-z0-9-])${opt}([^A-Za-z0-9-]|\$)" "$txt"; then
            fail "the rendered $(basename "$src") never shows $opt, which '$label' prints"
            missing=$((missing + 1))
        fi
    done
    if [ "$n" -lt 3 ]; then
        fail "'$label' printed only $n long options; is that its help?"
        return
    fi
    [ "$missing" = 0 ] && echo "ok: $(basename "$src") documents all $n options of '$label':" \
        $opts
}
check_help "$WORK/man/man1/felt.1" "$WORK/felt.txt" "felt --help" "$FELT" --help
check_help "$WORK/man/man1/felt.1" "$WORK/felt.txt" "felt replay --help" "$FELT" replay --help
check_help "$WORK/man/man1/felt.1" "$WORK/felt.txt" "felt history --help" "$FELT" history --help
check_help "$WORK/man/man8/feltd.8" "$WORK/feltd.txt" "feltd --help" "$FELTD" --help

# ---- 3. sections, subcommands, version ----------------------------------------------------
sections=(NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO")
for t in felt feltd; do
    lacking=0
    for s in "${sections[@]}"; do
        grep -qx "$s" "$WORK/$t.txt" || { fail "$t's page has no $s section"; lacking=1; }
    done
    [ "$lacking" = 0 ] && echo "ok: $t's page has the sections ${sections[*]}"
done
# felt.1's SYNOPSIS: from its header to the next section header.
awk '/^SYNOPSIS$/ {on = 1; next} /^[A-Z]/ {on = 0} on' "$WORK/felt.txt" > "$WORK/synopsis"
for sub in replay history; do
    if grep -qE "^ +felt $sub( |\$)" "$WORK/synopsis"; then
        echo "ok: felt.1's SYNOPSIS shows felt $sub"
    else
        fail "felt.1's SYNOPSIS lacks 'felt $sub'"
    fi
done

version_of() { timeout 10 "$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1; }
for pair in "felt:$FELT" "feltd:$FELTD"; do
    t=${pair%%:*}
    v=$(version_of "${pair#*:}")
    if [ -z "$v" ]; then
        fail "$t --version prints no version"
    elif ! tail -n 1 "$WORK/$t.txt" | grep -qF "felt $v"; then
        fail "$t's page footer ($(tail -n 1 "$WORK/$t.txt" | tr -s ' ')) does not name felt $v," \
            "the version $t --version prints (.Os in the page)"
    else
        echo "ok: $t's page is for version $v"
    fi
done

if [ "$fails" != 0 ]; then
    echo "man_test: $fails failure(s)"
    exit 1
fi
echo "man_test: all checks passed"
exit 0
