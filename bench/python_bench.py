#!/usr/bin/env python3
"""The Python package against the command and against scikit-learn, on
MNIST (run by `make bench` and `make bench-python`; REPS runs each, in
turns; medians).

  python vs command  the course's softmax job: `softreg train` as a whole
                     process, against load_mnist (both sets) + fit with the
                     test set evaluated every epoch inside Python (the
                     interpreter's start and NumPy's import are reported
                     apart: a notebook pays them once)
  vs scikit-learn    sklearn.linear_model.LogisticRegression (lbfgs,
                     multinomial, X / 255) with the fewest iterations, of
                     a fixed ladder, that reach softreg's test error;
                     fitting time only, both sides

Writes the table to bench/results/<date>-<host>-python.md.
"""
import datetime
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("SOFTREG_LIB", os.path.join(ROOT, BUILD, "libsoftreg.so"))
os.environ.pop("OPENBLAS_CORETYPE", None)

import numpy as np  # noqa: E402

import softreg  # noqa: E402

REPS = int(os.environ.get("REPS", "5"))
DATA = os.path.join(ROOT, "data", "mnist")
COURSE = dict(optimizer="sgd", lr=0.2, epochs=10, batch=100, C=None,
              bias=False, standardize=False)
SKLEARN_ITERS = (10, 15, 20, 30, 50, 100, 200)


def median(xs):
    return statistics.median(xs)


def command_run():
    t0 = time.perf_counter()
    subprocess.run([os.path.join(ROOT, BUILD, "softreg"), "train", "--quiet"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def python_run():
    """The command's job: both sets loaded, the test set evaluated after
    every epoch."""
    t0 = time.perf_counter()
    X, y = softreg.load_mnist(DATA)
    Xt, yt = softreg.load_mnist(DATA, "t10k")
    softreg.SoftmaxRegression(**COURSE).fit(X, y, test=(Xt, yt))
    return time.perf_counter() - t0


def python_start():
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy, softreg"], check=True,
                   env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python")))
    return time.perf_counter() - t0


def main():
    cmd, py, start = [], [], []
    for _ in range(REPS):  # in turns, so that a noisy neighbour hits both
        cmd.append(command_run())
        py.append(python_run())
        start.append(python_start())
    X, y = softreg.load_mnist(DATA)
    Xt, yt = softreg.load_mnist(DATA, "t10k")
    fit = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        clf = softreg.SoftmaxRegression(**COURSE).fit(X, y)
        fit.append(time.perf_counter() - t0)
    ours_err = 1 - clf.score(Xt, yt)

    from sklearn.linear_model import LogisticRegression
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    Xs, Xts = X / 255.0, Xt / 255.0
    sk_time = sk_err = sk_iter = None
    for iters in SKLEARN_ITERS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            sk = LogisticRegression(max_iter=iters).fit(Xs, y)
            sk_time = time.perf_counter() - t0
        sk_err, sk_iter = 1 - sk.score(Xts, yt), iters
        if sk_err <= ours_err:
            break

    lines = [
        f"# Python package benchmark, {datetime.date.today()}",
        "",
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, host {socket.gethostname()}; "
        f"threads: all; {REPS} runs each, medians",
        "",
        "| job | time (median) | spread | ratio |",
        "|---|---|---|---|",
        f"| `softreg train` (whole process) | {median(cmd):.3f} s | "
        f"{min(cmd):.3f}-{max(cmd):.3f} | 1.00 |",
        f"| Python: load_mnist + fit(test=...) (in process) | {median(py):.3f} s | "
        f"{min(py):.3f}-{max(py):.3f} | {median(py) / median(cmd):.3f} "
        f"(overhead {100 * (median(py) / median(cmd) - 1):+.1f}%) |",
        f"| Python's start: `import numpy, softreg` | {median(start):.3f} s | "
        f"{min(start):.3f}-{max(start):.3f} | once per session |",
        f"| softreg fit alone (test error {ours_err:.4f}) | {median(fit):.3f} s | "
        f"{min(fit):.3f}-{max(fit):.3f} | 1.00 |",
        f"| scikit-learn LogisticRegression, max_iter={sk_iter} "
        f"(test error {sk_err:.4f}) | {sk_time:.3f} s | one run | "
        f"{sk_time / median(fit):.1f}x softreg's time |",
        "",
        f"targets: Python overhead <= 5%: "
        f"{'met' if median(py) <= 1.05 * median(cmd) else 'NOT met'}; "
        f"at least 5x faster than scikit-learn at equal test error: "
        f"{'met' if sk_time >= 5 * median(fit) and sk_err <= ours_err + 1e-12 else 'NOT met'}",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    out = os.path.join(ROOT, "bench", "results",
                       f"{datetime.date.today()}-{socket.gethostname()}-python.md")
    with open(out, "w") as f:
        f.write(report)
    print("written to", os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
