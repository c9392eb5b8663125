"""Shared by the Python tests: where the repository's build and data are,
and the command to compare with. The package is used in place (python/ on
sys.path, build/libsoftreg.so), as `make test` runs it."""
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
sys.path.insert(0, os.path.join(ROOT, "python"))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
MNIST = os.environ.get("SOFTREG_MNIST_DIR", os.path.join(ROOT, "data", "mnist"))


def softreg_command(*args, check=True):
    """Runs build/softreg; returns its CompletedProcess (text)."""
    proc = subprocess.run([os.path.join(BUILD, "softreg"), *map(str, args)],
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"softreg {' '.join(map(str, args))} failed "
                             f"({proc.returncode}):\n{proc.stderr}")
    return proc


def write_csv(path, X, y, names=None):
    """X (float32) written so that the command reads the very same floats."""
    X = np.asarray(X, dtype=np.float32)
    names = names or [f"f{j}" for j in range(X.shape[1])]
    with open(path, "w") as f:
        f.write(",".join(names + ["label"]) + "\n")
        for row, label in zip(X, y):
            f.write(",".join(f"{v:.9g}" for v in row.tolist()))
            f.write(f",{label}\n")
    return path


@pytest.fixture(scope="session")
def mnist():
    import softreg
    if not os.path.exists(os.path.join(MNIST, "train-labels-idx1-ubyte")) and \
            not os.path.exists(os.path.join(MNIST, "train-labels-idx1-ubyte.gz")):
        pytest.fail(f"MNIST is not in {MNIST}: run scripts/fetch-mnist")
    return softreg.load_mnist(MNIST), softreg.load_mnist(MNIST, "t10k")


@pytest.fixture(scope="session")
def iris():
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True)
    return X.astype(np.float32), y
