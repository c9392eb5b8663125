#!/usr/bin/env bash
# The command's end-to-end runs under valgrind: no error, no definite leak.
# Each case is a small run of a subcommand, good input and bad; valgrind's
# own exit status (99) marks a finding, whatever the command's status.
set -u
# The command starts itself again to set OpenMP's wait policy (cli/main.c)
# unless it is set: set it, so that valgrind watches the run itself.
export OMP_WAIT_POLICY=passive
bin=${1:-build/softreg}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg=(valgrind -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite --show-leak-kinds=definite)
printf 'a,b,y\n0,0,s\n0.2,0.1,s\n5,5,b\n4.8,5.1,b\n1,1,s\n' > "$tmp/t.csv"
printf 'a,b,y\n0,0,s\n1,nan,b\n' > "$tmp/bad.csv"
printf '0 1:1\n1 2:2 1:3\n' > "$tmp/bad.svm"
# (the exact solver's dlopen of LAPACK trips valgrind inside ld.so: lbfgs)
printf 'x,y\n0,1\n1,3\n2,5.2\n3,6.9\n4,9.3\n' > "$tmp/line.csv"
cases=(
    "train --limit 2000 --epochs 1 --quiet --threads 2"
    "train --limit 1000 --epochs 1 --model nn --hidden 16 --quiet --out $tmp/nn.srm"
    "train $tmp/t.csv --bias --epochs 3 --quiet --val-split 0.4 --out $tmp/t.srm"
    "train $tmp/t.csv --model logistic --optimizer lbfgs --quiet --checkpoint $tmp/x.ckpt"
    "eval $tmp/t.srm $tmp/t.csv"
    "train --limit 1000 --epochs 2 --quiet --report $tmp/r.html --svg-dir $tmp/svg"
    "report $tmp/t.srm $tmp/t.csv --out $tmp/t.html --svg-dir $tmp/tsvg"
    "train $tmp/line.csv --model linear --poly 2 --optimizer lbfgs --quiet --report $tmp/l.html"
    "report $tmp/t.srm $tmp/bad.csv --out $tmp/bad.html"
    "predict $tmp/t.srm $tmp/t.csv --proba --out $tmp/p.csv"
    "info $tmp/nn.srm"
    "gradcheck $tmp/t.csv --model nn --hidden 3 --bias"
    "train $tmp/bad.csv"
    "train $tmp/bad.svm"
    "train --batch 0"
    "eval $tmp/t.csv $tmp/t.csv"
)
failed=0 passed=0
for c in "${cases[@]}"; do
    # shellcheck disable=SC2086
    "${vg[@]}" "$bin" $c >/dev/null 2>"$tmp/err"
    if [ $? -eq 99 ]; then
        echo "valgrind: softreg $c"; cat "$tmp/err"; failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
