#!/usr/bin/env bash
# The kernels chosen at run time on older x86-64 processors, emulated by
# QEMU (Debian's qemu-user): a Westmere has no AVX, so softreg must run the
# plain C kernels; a Haswell has AVX2 and FMA but no AVX-512. On each,
# training must run and save the very model, byte for byte, that this
# machine saves with the same kernels forced by SOFTREG_ARCH.
# usage: tests/cpu_models.sh [BUILD_DIR]
set -u
# With no policy set, softreg starts itself again to choose one (see
# cli/main.c); that second start would leave QEMU and run natively.
export OMP_WAIT_POLICY=passive
build=${1:-build}
qemu=$(command -v qemu-x86_64) || {
    echo "qemu-x86_64 is missing: apt-get install qemu-user" >&2
    exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jobs=(
    "--limit 2000 --epochs 2"
    "--limit 1000 --epochs 1 --model nn --hidden 40"
)
passed=0 failed=0
check() { # name, then a command that succeeds when the check passes
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $name" >&2
    fi
}
for pair in Westmere:ref Haswell:avx2; do
    cpu=${pair%%:*} kernels=${pair##*:}
    check "$cpu chooses $kernels" \
        grep -q "\"kernels\": \"$kernels\"" \
        <("$qemu" -cpu "$cpu" "$build/bench/bench" 2>/dev/null)
    for j in "${!jobs[@]}"; do
        # shellcheck disable=SC2086
        "$qemu" -cpu "$cpu" "$build/softreg" train ${jobs[$j]} --quiet \
            --out "$tmp/emulated.srm" >/dev/null 2>&1
        # shellcheck disable=SC2086
        SOFTREG_ARCH=$kernels "$build/softreg" train ${jobs[$j]} --quiet \
            --out "$tmp/forced.srm" >/dev/null 2>&1
        check "$cpu, softreg train ${jobs[$j]}: the model of SOFTREG_ARCH=$kernels" \
            cmp -s "$tmp/emulated.srm" "$tmp/forced.srm"
        rm -f "$tmp/emulated.srm" "$tmp/forced.srm"
    done
done
echo "cpu models: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
