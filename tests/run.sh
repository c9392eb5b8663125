#!/usr/bin/env bash
# Runs every test binary given (cmocka) and every directory of Python tests
# (pytest, with $PYTHON), shows their output, and ends with one summary
# line "N passed, N failed" over all of them. Exit status is non-zero if
# any test failed or any program crashed.
set -u
passed=0 failed=0 crashed=0
for t in "$@"; do
    if [ -d "$t" ]; then
        # The package in place, over this build's library and command.
        out=$(SOFTREG_LIB="$PWD/${BUILD:-build}/libsoftreg.so" \
              "${PYTHON:-python3}" -m pytest -q -p no:cacheprovider "$t" 2>&1)
        rc=$?
        printf '%s\n' "$out"
        last=$(printf '%s\n' "$out" | tail -n 1)
        p=$(printf '%s\n' "$last" | grep -oE '[0-9]+ passed' | awk '{print $1}')
        f=$(printf '%s\n' "$last" | grep -oE '[0-9]+ (failed|error)' | awk '{s+=$1} END {print s+0}')
    else
        out=$("$t" 2>&1)
        rc=$?
        printf '%s\n' "$out"
        p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
        f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    fi
    p=${p:-0}
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "error: $t exited with status $rc" >&2
        crashed=$((crashed + 1))
        failed=$((failed + 1))
    fi
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
