#!/usr/bin/env python3
"""softreg's benchmarks, side by side with the course's NumPy code.

Run by `make bench` (FULL=1 for the issue's full-length network job). Prints
one Markdown report and writes it to bench/results/<date>-<host>.md:

  machine      CPU, the kernel table softreg chose, the FMA probe's peak
  jobs         whole processes (`softreg train ...` and
               bench/reference_numpy.py), run in turns, REPS times each:
               median and spread of the wall time, peak memory (the
               child's getrusage), and NumPy's time over softreg's
  epochs       one SGD epoch and one evaluation of train + test alone:
               median, spread, GFLOP/s counting the dense products of
               the course's code and counting the work actually done,
               and that work as a share of the probe's peak
  scaling      epoch time against examples, hidden units and threads
  targets      the issue's targets, met or not

Only the standard library is used here; NumPy runs under /usr/bin/python3
(Debian's python3-numpy) when it is there.
"""
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
SOFTREG = os.path.join(ROOT, BUILD, "softreg")
BENCH = os.path.join(ROOT, BUILD, "bench", "bench")
PROBE = os.path.join(ROOT, BUILD, "bench", "fma_probe")
PIXEL_PROBE = os.path.join(ROOT, BUILD, "bench", "pixel_probe")
DATA = os.path.join(ROOT, "data", "mnist")
NUMPY_PY = "/usr/bin/python3"
REFERENCE = os.path.join(ROOT, "bench", "reference_numpy.py")

FULL = os.environ.get("FULL", "") not in ("", "0")
REPS = int(os.environ.get("REPS", "5"))
NN_EPOCHS = 20 if FULL else int(os.environ.get("NN_EPOCHS", "3"))


def run_once(cmd, env=None):
    """Wall time (s), peak resident memory (MiB) and stdout of one run."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=env, cwd=ROOT)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if status != 0:
        sys.exit("bench: failed (status %d): %s" % (status, " ".join(cmd)))
    return dt, ru.ru_maxrss / 1024.0, out.decode()


def numpy_env():
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)  # let OpenBLAS pick its kernels
    return env


def have_numpy():
    if not os.path.exists(NUMPY_PY):
        return False
    return subprocess.run([NUMPY_PY, "-c", "import numpy"],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def probe():
    """The FMA probe's figures, the best of three runs: a peak is what the
    machine can do, and on a shared machine a neighbour may hold a core
    during any one run (one run here read two threads doing 1.01x the
    arithmetic of one)."""
    vals = {}
    for _ in range(3):
        out = subprocess.run([PROBE], stdout=subprocess.PIPE,
                             check=True).stdout
        for line in out.decode().splitlines():
            key, val = line.split()
            vals[key] = max(vals.get(key, 0.0), float(val))
    return vals


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or platform.machine()
    fields = {}
    for line in info.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            fields.setdefault(k.strip(), v.strip())
    flags = set(fields.get("flags", "").split())
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl")
           if f in flags]
    return "%s (family %s model %s; %s)" % (
        fields.get("model name", "?"), fields.get("cpu family", "?"),
        fields.get("model", "?"), " ".join(isa))


def fmt_t(ts):
    """median (min-max) in seconds or milliseconds."""
    med, lo, hi = statistics.median(ts), min(ts), max(ts)
    if med < 1.0:
        return "%.0f ms (%.0f-%.0f)" % (med * 1e3, lo * 1e3, hi * 1e3)
    return "%.2f s (%.2f-%.2f)" % (med, lo, hi)


def first_row(out):
    """Epoch 0's four figures, or None."""
    for line in out.splitlines():
        if line.startswith("|     0 |"):
            return [float(f) for f in line.strip("| \n").split("|")[1:]]
    return None


def row0_difference(np_out, out):
    """The largest difference between softreg's and NumPy's epoch-0 figures:
    both compute the same float32 algorithm, with sums in different orders,
    so they agree to a few units of the fourth decimal, not to the bit."""
    a, b = first_row(np_out), first_row(out)
    if not a or not b or len(a) != len(b):
        return "missing"
    d = max(abs(x - y) for x, y in zip(a, b))
    return "0" if d == 0 else "%.0e" % d


def jobs(report, numpy_ok, results):
    """Whole processes, softreg and NumPy in turns."""
    specs = [
        ("softmax (10 epochs)", ["train"], ["softmax"], "softmax"),
        ("nn hidden 100 (%d epochs)" % NN_EPOCHS,
         ["train", "--model", "nn", "--hidden", "100", "--epochs",
          str(NN_EPOCHS)],
         ["nn", "--hidden", "100", "--epochs", str(NN_EPOCHS)], "nn100"),
        ("nn hidden 400 (%d epochs)" % NN_EPOCHS,
         ["train", "--model", "nn", "--hidden", "400", "--epochs",
          str(NN_EPOCHS)],
         ["nn", "--hidden", "400", "--epochs", str(NN_EPOCHS)], "nn400"),
    ]
    report.append("## Whole jobs, side by side (%d runs each, in turns)\n" % REPS)
    report.append("| job | softreg 1 thread | softreg 2 threads | NumPy | "
                  "NumPy / softreg (2 thr.) | 2 thr. speed-up | peak MiB "
                  "softreg / NumPy | epoch 0, largest difference from NumPy |")
    report.append("|---|---|---|---|---|---|---|---|")
    for title, args, np_args, key in specs:
        t1, t2, tn, m1, m2, mn = [], [], [], [], [], []
        outs, np_out = {}, None
        for _ in range(REPS):
            for threads, ts, ms in ((1, t1, m1), (2, t2, m2)):
                dt, rss, out = run_once([SOFTREG] + args +
                                        ["--threads", str(threads), "--quiet",
                                         "--data", DATA])
                ts.append(dt)
                ms.append(rss)
                outs[threads] = out
            if numpy_ok:
                dt, rss, np_out = run_once([NUMPY_PY, REFERENCE] + np_args +
                                           ["--data", DATA], env=numpy_env())
                tn.append(dt)
                mn.append(rss)
        same_threads = outs[1] == outs[2]
        r = {"t1": t1, "t2": t2, "tn": tn, "rss": max(m1 + m2),
             "rss_np": max(mn) if mn else None, "same_threads": same_threads}
        ratio = statistics.median(tn) / statistics.median(t2) if tn else None
        r["ratio"] = ratio
        r["speedup"] = statistics.median(t1) / statistics.median(t2)
        row0 = "-"
        if np_out is not None:
            row0 = row0_difference(np_out, outs[2])
        results[key] = r
        report.append("| %s | %s | %s | %s | %s | %.2fx | %.0f / %s | %s |" % (
            title, fmt_t(t1), fmt_t(t2), fmt_t(tn) if tn else "n/a",
            "%.1fx" % ratio if ratio else "n/a", r["speedup"], r["rss"],
            "%.0f" % r["rss_np"] if r["rss_np"] else "n/a", row0))
        if not same_threads:
            report.append("\n**1 and 2 threads printed different tables.**\n")
    report.append("")


def bench_epochs(args):
    out = subprocess.run([BENCH, "epochs", "--data", DATA] + args,
                         stdout=subprocess.PIPE, check=True, cwd=ROOT).stdout
    return json.loads(out.decode().strip().splitlines()[-1])


def machine_scaling(pk):
    for isa in ("avx512", "avx2"):
        if isa + "_1" in pk and pk[isa + "_1"] > 0:
            return pk[isa + "_T"] / pk[isa + "_1"]
    return 1.0


def peak_for(pk, threads):
    """The probe's peak for that many threads (all the machine's when more
    than one)."""
    if "avx512_1" in pk:
        return pk["avx512_1"] if threads == 1 else pk["avx512_T"]
    if "avx2_1" in pk:
        return pk["avx2_1"] if threads == 1 else pk["avx2_T"]
    return None


def epochs(report, pk, results):
    report.append("## Epoch kernels alone (median of %d epochs, after one "
                  "untimed)\n" % REPS)
    report.append("GFLOP/s *dense*: the course's dense products (X W with "
                  "every pixel); *done*: what softreg computes (stored "
                  "pixels only). Peak: the FMA probe's, same thread count.\n")
    report.append("Threads: *2* is what `--threads 2` does: the engine times "
                  "its first minibatches and goes on with one thread when the "
                  "two mostly waited for each other (used: the count it "
                  "kept); *2 kept* forces both throughout.\n")
    report.append("| model | threads (used) | SGD epoch | GFLOP/s dense / done | "
                  "% of peak | evaluation (train+test) | GFLOP/s dense / done "
                  "| % of peak |")
    report.append("|---|---|---|---|---|---|---|---|")
    for model, hidden in (("softmax", 0), ("nn", 100), ("nn", 400)):
        for threads, keep in ((1, 0), (2, 0), (2, 1)):
            args = ["--model", model, "--threads", str(threads), "--reps",
                    str(REPS), "--keep-threads", str(keep)]
            if model == "nn":
                args += ["--hidden", str(hidden)]
            r = bench_epochs(args)
            results["epoch-%s%s-%d%s" % (model, hidden or "", threads,
                                         "k" if keep else "")] = r
            peak = peak_for(pk, threads)
            tt, te = r["train_med"], r["eval_med"]

            def g(flop, t):
                return flop / t * 1e-9

            def share(flop, t):
                return "%.0f%%" % (100 * g(flop, t) / peak) if peak else "n/a"
            name = model if model == "softmax" else "nn %d" % hidden
            report.append(
                "| %s | %s | %s | %.1f / %.1f | %s | %s | %.1f / %.1f | %s |" % (
                    name, "%d%s (%d)" % (threads, " kept" if keep else "",
                                         r["threads_used"]),
                    fmt_t([r["train_med"], r["train_min"], r["train_max"]]),
                    g(r["train_dense_flop"], tt), g(r["train_done_flop"], tt),
                    share(r["train_done_flop"], tt),
                    fmt_t([r["eval_med"], r["eval_min"], r["eval_max"]]),
                    g(r["eval_dense_flop"], te), g(r["eval_done_flop"], te),
                    share(r["eval_done_flop"], te)))
    report.append("")


def pixel_costs(report, pk, results):
    """bench/pixel_probe beside the softmax SGD epoch just measured."""
    out = subprocess.run([PIXEL_PROBE, DATA], stdout=subprocess.PIPE,
                         check=True, cwd=ROOT).stdout
    r = json.loads(out.decode().strip().splitlines()[-1])
    if "logits_ns" not in r:
        return
    ghz, n = pk.get("ghz", 0.0), r["entries"]
    epoch = results.get("epoch-softmax-1", {}).get("train_med")
    report.append("## What a stored pixel costs (`bench/pixel_probe`, one "
                  "thread, best of 7 passes)\n")
    report.append("Softmax regression's SGD does, for each of the %d stored "
                  "pixels of an epoch, one term of the logits (a 64-byte "
                  "weight row read and multiply-added) and one of the step "
                  "(a 64-byte gradient row read, multiply-added and written "
                  "back). Each loop below does only that, over the training "
                  "set's pixel lists.\n" % n)
    report.append("| loop | ns per pixel | cycles per pixel | per epoch |")
    report.append("|---|---|---|---|")
    for key, name in (("logits_ns", "logits term"),
                      ("step_ns", "step term"),
                      ("store_ns", "step's write alone")):
        report.append("| %s | %.2f | %.1f | %.1f ms |" % (
            name, r[key], r[key] * ghz, r[key] * n * 1e-6))
    both = (r["logits_ns"] + r["step_ns"]) * n * 1e-6
    line = ("\nThe two loops: %.1f ms an epoch" % both)
    sgd = results.get("epoch-softmax-1", {})
    if sgd.get("train_med"):
        line += ("; softreg's whole SGD epoch (above, one thread): %.1f ms" %
                 (sgd["train_med"] * 1e3))
    peak = peak_for(pk, 1)
    if peak and sgd.get("train_done_flop"):
        line += ("; its arithmetic alone at the FMA probe's peak: %.1f ms. "
                 "The time goes to moving weight and gradient rows, not to "
                 "arithmetic" % (sgd["train_done_flop"] / peak * 1e-6))
    report.append(line + ".\n")


def scaling(report, procs):
    reps = 3
    report.append("## Scaling (median of %d epochs)\n" % reps)
    report.append("Examples: MNIST's training set repeated; the evaluation "
                  "covers the repeated set and the test set. Every thread is "
                  "kept throughout (`--keep-threads`), to show how the "
                  "machine scales.\n")
    report.append("| model | examples | hidden | threads | SGD epoch | "
                  "per 1000 examples | evaluation |")
    report.append("|---|---|---|---|---|---|---|")
    threads_list = [1, 2] if procs <= 2 else [1, 2, procs]
    cases = []
    for rep in (1, 4, 16):
        for t in threads_list:
            cases.append(("softmax", 0, rep, t))
    for rep in (1, 4, 16):
        for t in threads_list:
            cases.append(("nn", 100, rep, t))
    for hidden in (100, 400, 1600):
        for t in threads_list:
            cases.append(("nn", hidden, 1, t))
    seen = set()
    for model, hidden, rep, t in cases:
        if (model, hidden, rep, t) in seen:
            continue
        seen.add((model, hidden, rep, t))
        args = ["--model", model, "--threads", str(t), "--reps", str(reps),
                "--repeat", str(rep), "--keep-threads", "1"]
        if model == "nn":
            args += ["--hidden", str(hidden)]
        r = bench_epochs(args)
        rows = r["rows"]
        report.append("| %s | %d (%dx) | %s | %d | %s | %.2f ms | %s |" % (
            model, rows, rep, hidden or "-", t,
            fmt_t([r["train_med"], r["train_min"], r["train_max"]]),
            r["train_med"] / rows * 1e6,
            fmt_t([r["eval_med"], r["eval_min"], r["eval_max"]])))
    report.append("")


def targets(report, results):
    report.append("## Targets of the issue\n")

    def line(ok, text):
        report.append("- [%s] %s" % ("x" if ok else " ", text))
    sm, nn = results.get("softmax"), results.get("nn400")
    if sm and sm["ratio"]:
        line(sm["ratio"] >= 10, "softmax job >= 10x faster than NumPy: "
             "%.1fx" % sm["ratio"])
    if sm:
        line(sm["rss"] < 128, "softmax job peak memory < 128 MiB: %.0f MiB"
             % sm["rss"])
    if nn and nn["ratio"]:
        line(nn["ratio"] >= 4, "network job (hidden 400, %d epochs%s) >= 4x "
             "faster than NumPy: %.1fx" % (NN_EPOCHS, "" if FULL else
                                           "; FULL=1 for 20", nn["ratio"]))
    if nn:
        line(nn["rss"] < 160, "network job peak memory < 160 MiB: %.0f MiB"
             % nn["rss"])
        line(nn["speedup"] >= 1.6, "two threads >= 1.6x faster than one on "
             "the network job: %.2fx (the machine's own arithmetic scales "
             "%.2fx from 1 to %d threads)" % (nn["speedup"],
                                             results["scaling"],
                                             results["procs"]))
    same = all(r["same_threads"] for k, r in results.items()
               if isinstance(r, dict) and "same_threads" in r)
    line(same, "1 and 2 threads print identical tables (every job above)")
    report.append("")


def main():
    for path in (SOFTREG, BENCH, PROBE, PIXEL_PROBE):
        if not os.path.exists(path):
            sys.exit("bench: %s is missing: run `make bench`" % path)
    numpy_ok = have_numpy()
    info = json.loads(subprocess.run([BENCH, "info"], stdout=subprocess.PIPE,
                                     check=True).stdout.decode())
    pk = probe()
    host = socket.gethostname()
    stamp = datetime.datetime.now()
    report = ["# softreg benchmarks: %s, %s\n" % (host,
                                                  stamp.strftime("%Y-%m-%d %H:%M")),
              "## Machine\n",
              "- CPU: %s, %d logical CPUs" % (cpu_model(), info["procs"]),
              "- softreg %s, kernels: **%s** (SOFTREG_ARCH=%s)" % (
                  info["version"], info["kernels"],
                  os.environ.get("SOFTREG_ARCH", "unset")),
              "- FMA probe: clock ~%.2f GHz; peak single precision %s" % (
                  pk.get("ghz", 0), ", ".join(
                      "%s %.0f GFLOP/s" % (k, v) for k, v in pk.items()
                      if k.startswith("avx"))),
              "- parallelism: all %d threads of the probe do %.2fx the "
              "arithmetic of one" % (info["procs"], machine_scaling(pk)),
              "- NumPy: %s" % ("/usr/bin/python3 (OPENBLAS_CORETYPE unset)"
                               if numpy_ok else "not available"),
              "- runs: %d per job%s; load average at start %.2f" % (
                  REPS, ", FULL" if FULL else "", os.getloadavg()[0]),
              ""]
    results = {"scaling": machine_scaling(pk), "procs": info["procs"]}
    jobs(report, numpy_ok, results)
    epochs(report, pk, results)
    pixel_costs(report, pk, results)
    scaling(report, info["procs"])
    targets(report, results)
    report.append("Reproduce: `make bench` (FULL=1 for the full-length "
                  "network job; REPS=n runs per job).")
    text = "\n".join(report) + "\n"
    sys.stdout.write(text)
    outdir = os.path.join(ROOT, "bench", "results")
    os.makedirs(outdir, exist_ok=True)
    name = "%s-%s.md" % (stamp.strftime("%Y-%m-%d"), host)
    with open(os.path.join(outdir, name), "w") as f:
        f.write(text)
    print("written to bench/results/%s" % name)


if __name__ == "__main__":
    main()
