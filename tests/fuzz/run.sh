#!/usr/bin/env bash
# Runs the libFuzzer targets built by `make fuzz`.
#
#   run.sh run N BIN...      fuzz each target for N seconds, from a copy of
#                            its seed corpus in build/fuzz/corpus/<target>
#                            (the committed corpus is never written); crash
#                            inputs land in build/fuzz/artifacts/<target>/
#   run.sh regress 0 BIN...  run each target once over every file of
#                            tests/fuzz/corpus/<target>/ and
#                            tests/fuzz/regressions/<target>/
#
# Prints one line per target (executions and result) and exits non-zero if
# any target crashed, leaked or timed out. Extra libFuzzer flags can be given
# in FUZZ_FLAGS (e.g. FUZZ_FLAGS=-jobs=1).
set -u
mode=${1:?usage: run.sh run|regress SECONDS BIN...}
seconds=${2:?}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/fuzz
failed=0
summary=()

for bin in "$@"; do
    t=$(basename "$bin")
    dict=$here/dict/${t#fuzz_}.dict
    dict_flag=()
    [ -f "$dict" ] && dict_flag=(-dict="$dict")
    if [ "$mode" = run ]; then
        corpus=$out/corpus/$t
        mkdir -p "$corpus" "$out/artifacts/$t" "$out/logs"
        [ -d "$here/corpus/$t" ] && cp -n "$here/corpus/$t"/* "$corpus"/ 2>/dev/null
        log=$out/logs/$t.log
        echo "== $t: fuzzing for ${seconds}s (log $log)"
        # shellcheck disable=SC2086
        "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
            -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" \
            "${dict_flag[@]}" ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1
        rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    else
        files=()
        for d in "$here/corpus/$t" "$here/regressions/$t"; do
            [ -d "$d" ] || continue
            while IFS= read -r -d '' f; do files+=("$f"); done \
                < <(find "$d" -type f -print0 | sort -z)
        done
        mkdir -p "$out/logs"
        log=$out/logs/$t.regress.log
        if [ ${#files[@]} -eq 0 ]; then
            summary+=("$(printf '%-18s %9s  %s' "$t" 0 "no inputs")")
            continue
        fi
        "$bin" -rss_limit_mb=2048 -timeout=25 "${files[@]}" >"$log" 2>&1
        rc=$?
        execs=${#files[@]}
    fi
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAILED (status $rc, see $log)"
        failed=$((failed + 1))
        # The first report of the sanitizer or of libFuzzer.
        grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)|check failed' "$log" >&2
    fi
    summary+=("$(printf '%-18s %9s  %s' "$t" "${execs:-?}" "$result")")
done

echo
printf '%-18s %9s  %s\n' target executions result
printf '%s\n' "${summary[@]}"
[ "$failed" -eq 0 ]
