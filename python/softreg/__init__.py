"""softreg: softmax regression and its family (linear and logistic
regression, a two-layer ReLU network), fast on a CPU, over the C library
libsoftreg.

    >>> import softreg
    >>> X, y = softreg.load_mnist("data/mnist")
    >>> clf = softreg.SoftmaxRegression().fit(X, y)
    >>> clf.score(*softreg.load_mnist("data/mnist", "t10k"))

Estimators follow scikit-learn's conventions (fit, predict, predict_proba,
get_params, Pipeline, GridSearchCV). `softreg.hw` holds the course's
homework functions; `softreg.load` reads a model file written by the
command or by `estimator.save`.
"""
import gzip
import os
import struct

import numpy as np

from . import _lib, hw
from ._estimators import (LinearRegression, LogisticRegression,
                          MLPClassifier, SoftmaxRegression, load)
from ._lib import SoftregError

__version__ = _lib.version()
__all__ = ["SoftmaxRegression", "LogisticRegression", "LinearRegression",
           "MLPClassifier", "load", "load_mnist", "hw", "SoftregError"]


def load_mnist(directory, split="train"):
    """MNIST's (or Fashion-MNIST's) IDX files in `directory`:
    "<split>-images-idx3-ubyte[.gz]" and its labels, split "train" or
    "t10k".

    Returns
    -------
    X : uint8 array (m, rows * cols), the pixels as stored (the estimators
        read pixel v as v / 255, as the course does)
    y : uint8 array (m), the labels
    """
    images = _idx_path(directory, f"{split}-images-idx3-ubyte")
    labels = _idx_path(directory, f"{split}-labels-idx1-ubyte")
    X = _read_idx(images, 3)
    y = _read_idx(labels, 1)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{images} holds {X.shape[0]} images but {labels} "
                         f"{y.shape[0]} labels")
    return X.reshape(X.shape[0], -1), y


def _idx_path(directory, name):
    for path in (os.path.join(directory, name),
                 os.path.join(directory, name + ".gz")):
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{directory}: no {name} or {name}.gz "
                            "(scripts/fetch-mnist fetches MNIST)")


def _read_idx(path, ndim):
    """An IDX file of uint8 values (raw or gzip) as a writable array (no
    listing of pixels: training does that once itself).
    Layout: 0, 0, type 0x08 (uint8), ndim; ndim big-endian uint32 sizes;
    the values."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        with gzip.open(path, "rb") as f:
            data = np.frombuffer(bytearray(f.read()), dtype=np.uint8)
    else:
        # Mapped copy-on-write, as the command maps its files: the pages
        # are the page cache's until the caller writes to them.
        data = np.asarray(np.memmap(path, dtype=np.uint8, mode="c"))
    head = 4 + 4 * ndim
    magic = data[:4].tobytes()
    if len(data) < head or magic != bytes([0, 0, 8, ndim]):
        raise ValueError(f"{path}: not an IDX file of uint8 values with "
                         f"{ndim} dimension(s) (magic {magic.hex()})")
    shape = struct.unpack(f">{ndim}I", data[4:head].tobytes())
    if len(data) - head != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"{path}: {len(data) - head} bytes of values for "
                         f"shape {shape}")
    return data[head:].reshape(shape)
