#!/usr/bin/env python3
"""Strong scaling of the MPI build (make bench-mpi): L-BFGS softmax on MNIST
with 1 and 2 processes, each of one thread (OMP_NUM_THREADS=1, so that two
processes use the machine's two cores as two threads would), and the plain
build with 1 and 2 threads beside them. Seconds per iteration are the
epochs' "seconds" of --json (the optimiser's passes, not the evaluation),
the median over iterations 2.., then the median over REPS runs taken in
turns. Bytes reduced per gradient: the fold passes the running sum along
the chain of N - 1 processes and the last broadcasts it: 2 (N - 1) times
the working gradient's floats (padded rows) and one double.

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
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
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


def main():
    # mpi_yield_when_idle: a process waiting for its neighbour in the
    # chain sleeps rather than spin on a core another process needs
    mpirun = ["mpirun", "--mca", "mpi_yield_when_idle", "1", "-np"]
    jobs = [("plain build, 1 thread", [f"{BUILD}/softreg"] + ARGS, 1, 1),
            ("plain build, 2 threads", [f"{BUILD}/softreg"] + ARGS, 2, 1),
            ("MPI, np=1 x 1 thread",
             mpirun + ["1", f"{MPI_BUILD}/softreg"] + ARGS, 1, 1),
            ("MPI, np=2 x 1 thread",
             mpirun + ["2", f"{MPI_BUILD}/softreg"] + ARGS, 1, 2)]
    times = {name: [] for name, *_ in jobs}
    tables = {}
    for _ in range(REPS):
        for name, cmd, threads, _np in jobs:
            t, out = per_iteration(cmd, threads)
            times[name].append(t)
            tables[name] = out
    same = len({tables[n] for n in tables}) == 1
    base = statistics.median(times["MPI, np=1 x 1 thread"])
    load = os.getloadavg()[0]
    lines = [f"# softreg MPI scaling: {socket.gethostname()}, "
             f"{datetime.datetime.now():%Y-%m-%d %H:%M}", "",
             f"L-BFGS softmax on MNIST (60,000 x 784, sparse blocks of 4096 "
             f"rows), {ITERS} iterations, median of iterations 2.. per run, "
             f"median of {REPS} runs in turns; {os.cpu_count()} logical CPUs, "
             f"load average {load:.2f} at the end. Every run printed the same "
             f"table: {'yes' if same else 'NO'}.", "",
             "| run | s / iteration | speed-up vs np=1 | bytes reduced / gradient |",
             "|---|---|---|---|"]
    for name, _cmd, _threads, np_ in jobs:
        t = statistics.median(times[name])
        reduced = 2 * (np_ - 1) * (4 * GRAD_FLOATS + 8) if "MPI" in name else 0
        lines.append(f"| {name} | {t * 1000:.1f} ms | {base / t:.2f}x | "
                     f"{reduced:,} |")
    lines += ["", "Each evaluation also gathers 16 bytes per 256-row chunk "
              "(a double and a count) from the other processes."]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs("bench/results", exist_ok=True)
    path = (f"bench/results/{datetime.date.today()}-"
            f"{socket.gethostname()}-mpi.md")
    with open(path, "w") as f:
        f.write(text)
    print(f"written to {path}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
