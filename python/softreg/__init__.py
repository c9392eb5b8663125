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
import ctypes
import os

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
    X : uint8 array (m, 784), the pixels as stored (the estimators read
        pixel v as v / 255, as the course does)
    y : uint8 array (m), the labels
    """
    handle = ctypes.c_void_p()
    err = _lib.Error()
    _lib.check(_lib.lib.sr_dataset_load_mnist(
        os.fsencode(directory), split.encode(), ctypes.byref(handle),
        ctypes.byref(err)), err)
    try:
        m = _lib.lib.sr_dataset_rows(handle)
        n = _lib.lib.sr_dataset_features(handle)
        X = np.empty((m, n), dtype=np.uint8)
        _lib.check(_lib.lib.sr_dataset_copy_pixels(
            handle, 0, m, X.ctypes.data_as(_lib.c_uint8_p), ctypes.byref(err)),
            err)
        return X, hw._labels(handle, m)
    finally:
        _lib.lib.sr_dataset_free(handle)
