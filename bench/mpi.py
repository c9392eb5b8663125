#!/usr/bin/env python3
"""Strong scaling of the MPI build (make bench-mpi): L-BFGS softmax on MNIST
and on MNIST replicated 4 times, and the course's SGD job, with 1 and 2
processes, each of one thread (OMP_NUM_THREADS=1, so that two
processes use the machine's two cores as two threads would), and the plain
build with 1 and 2 threads beside them. Seconds per iteration (an
L-BFGS iteration or an SGD epoch) are the epochs' "seconds" of --json (the
optimiser's passes, not the evaluation), the median over iterations 2..,
then the median over REPS runs taken in turns. Bytes passed per
iteration: the running sum (or SGD's state) goes along the chain of N - 1
processes and the last broadcasts it: 2 (N - 1) times the working
gradient's floats (padded rows) and a few doubles.

usage: BUILD=build MPI_BUILD=build/mpi REPS=3 ITERS=30 python3 bench/mpi.py
Writes bench/results/<date>-<host>-mpi.md and prints it."""
import datetime
import json
import os
import socket
import statistics
import subprocess
import sys

BUILD = os.environ.get("BUILD", "build")
MPI_BUILD = os.environ.get("MPI_BUILD", "build/mpi")
REPS = int(os.environ.get("REPS", "3"))
ITERS = int(os.environ.get("ITERS", "30"))
ARGS = ["train", "--optimizer", "lbfgs", "--max-iter", str(ITERS), "--json",
        "--quiet"]
# No oversubscription: with at most a process a core, Open MPI binds each
# process to its core, which keeps its blocks in that core's caches
# (MNIST replicated 4x: 1.46x at np = 2 unbound, 1.8-1.9x bound).
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
ENV.pop("OMPI_MCA_rmaps_base_oversubscribe", None)
# softmax on MNIST: 784 rows of 16 lanes (10 classes padded) and the bias
GRAD_FLOATS = 784 * 16 + 16


def per_iteration(cmd, threads):
    env = dict(ENV, OMP_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True,
                         text=True).stdout
    rows = [json.loads(l) for l in out.splitlines()
            if l.startswith("{\"epoch\"")]
    secs = [r.pop("seconds") for r in rows]
    # the figures without the times: the same for every run
    return statistics.median(secs[1:]), json.dumps(rows)


def replicated_mnist(times):
    """MNIST's training set `times` over, as an IDX pair under
    build/bench-mpi (made once): a data set that outgrows MNIST."""
    d = os.path.join(BUILD, "bench-mpi")
    img = os.path.join(d, f"mnist{times}-images-idx3-ubyte")
    lab = os.path.join(d, f"mnist{times}-labels-idx1-ubyte")
    if os.path.exists(img) and os.path.exists(lab):
        return img, lab
    os.makedirs(d, exist_ok=True)
    with open("data/mnist/train-images-idx3-ubyte", "rb") as f:
        images = f.read()
    with open("data/mnist/train-labels-idx1-ubyte", "rb") as f:
        labels = f.read()
    m = int.from_bytes(images[4:8], "big")
    with open(img + ".tmp", "wb") as f:
        f.write(images[:4] + (m * times).to_bytes(4, "big") + images[8:16])
        for _ in range(times):
            f.write(images[16:])
    with open(lab + ".tmp", "wb") as f:
        f.write(labels[:4] + (m * times).to_bytes(4, "big"))
        for _ in range(times):
            f.write(labels[8:])
    os.replace(img + ".tmp", img)
    os.replace(lab + ".tmp", lab)
    return img, lab


def scaling(title, args, base_name, state_bytes, note):
    """One table: the plain build on 1 and 2 threads, the MPI build on 1
    and 2 processes of 1 thread, in turns."""
    # mpi_yield_when_idle: a process waiting for its neighbour in the
    # chain sleeps rather than spin on a core another process needs
    mpirun = ["mpirun", "--mca", "mpi_yield_when_idle", "1", "-np"]
    jobs = [("plain build, 1 thread", [f"{BUILD}/softreg"] + args, 1, 1),
            ("plain build, 2 threads", [f"{BUILD}/softreg"] + args, 2, 1),
            ("MPI, np=1 x 1 thread",
             mpirun + ["1", f"{MPI_BUILD}/softreg"] + args, 1, 1),
            ("MPI, np=2 x 1 thread",
             mpirun + ["2", f"{MPI_BUILD}/softreg"] + args, 1, 2)]
    times = {name: [] for name, *_ in jobs}
    tables = {}
    for _ in range(REPS):
        for name, cmd, threads, _np in jobs:
            t, out = per_iteration(cmd, threads)
            times[name].append(t)
            tables[name] = out
    same = len({tables[n] for n in tables}) == 1
    base = statistics.median(times[base_name])
    lines = [f"## {title}", "",
             f"Every run printed the same table: {'yes' if same else 'NO'}.",
             "", "| run | s / iteration | speed-up vs np=1 | bytes passed / "
             "iteration |", "|---|---|---|---|"]
    for name, _cmd, _threads, np_ in jobs:
        t = statistics.median(times[name])
        moved = state_bytes(np_) if "MPI" in name else 0
        lines.append(f"| {name} | {t * 1000:.1f} ms | {base / t:.2f}x | "
                     f"{moved:,} |")
    lines += ["", note, ""]
    return lines, same


def main():
    fold = lambda np_: 2 * (np_ - 1) * (4 * GRAD_FLOATS + 8)
    img, lab = replicated_mnist(4)
    sections = [
        ("L-BFGS softmax on MNIST (60,000 x 784, sparse blocks of 4096 "
         f"rows), {ITERS} iterations", ARGS, fold,
         "Bytes: the fold passes the running sum along the chain and the last "
         "rank broadcasts it. Each evaluation also gathers 16 bytes per "
         "256-row chunk (a double and a count) from the other processes."),
        (f"L-BFGS softmax on MNIST replicated 4x (240,000 rows), {ITERS} "
         "iterations",
         ["train", "--train-images", img, "--train-labels", lab,
          "--optimizer", "lbfgs", "--max-iter", str(ITERS), "--json",
          "--quiet"], fold, "As above, on four times the rows."),
        ("The course's SGD job (batch 100, lr 0.2, 10 epochs): seconds per "
         "epoch", ["train", "--json", "--quiet"],
         # the state (parameters and the loss so far) goes N - 1 hops
         # along the chain, then the last rank broadcasts it
         lambda np_: 2 * (np_ - 1) * (4 * GRAD_FLOATS + 32),
         "Each rank holds whole minibatches (6,400-row units) and runs them "
         "when the model reaches it: an epoch's minibatches run one process "
         "at a time, as the course's bits require (docs/scaling.md)."),
    ]
    lines = [f"# softreg MPI scaling: {socket.gethostname()}, "
             f"{datetime.datetime.now():%Y-%m-%d %H:%M}", "",
             f"Median of iterations 2.. per run, median of {REPS} runs in "
             f"turns; {os.cpu_count()} logical CPUs.", ""]
    all_same = True
    for title, args, moved, note in sections:
        part, same = scaling(title, args, "MPI, np=1 x 1 thread", moved, note)
        lines += part
        all_same = all_same and same
    lines.append(f"Load average {os.getloadavg()[0]:.2f} at the end.")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs("bench/results", exist_ok=True)
    path = (f"bench/results/{datetime.date.today()}-"
            f"{socket.gethostname()}-mpi.md")
    with open(path, "w") as f:
        f.write(text)
    print(f"written to {path}")
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())
