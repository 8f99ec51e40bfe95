#!/bin/sh
# valgrind_feltd.sh: runs the feltd named by $FELT_FELTD under valgrind memcheck with the
# arguments given (the black-box harness starts it in feltd's place). Any invalid access or
# definite/indirect leak makes the exit status 99, so the test's clean-exit check fails.
set -e
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind_feltd.sh: valgrind is not installed (scripts/install-deps.sh installs it)" >&2
    exit 127
fi
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=99 "$FELT_FELTD" "$@"
