"""The functions of CMU 10-714 homework 0 with the homework's signatures,
computed by the library (the C code the homework asks for in its last
part). They update their NumPy arguments in place, as the homework does.

    >>> X, y = parse_mnist("data/mnist/train-images-idx3-ubyte",
    ...                    "data/mnist/train-labels-idx1-ubyte")
    >>> theta = np.zeros((X.shape[1], 10), dtype=np.float32)
    >>> softmax_regression_epoch(X[:100], y[:100], theta, lr=0.1, batch=10)
"""
import ctypes
import os

import numpy as np

from . import _lib


def _load_idx(image_filename, label_filename):
    handle = ctypes.c_void_p()
    err = _lib.Error()
    _lib.check(_lib.lib.sr_dataset_load_idx(
        os.fsencode(image_filename), os.fsencode(label_filename),
        ctypes.byref(handle), ctypes.byref(err)), err)
    return handle


def _labels(handle, m):
    y = np.empty(m, dtype=np.int32)
    err = _lib.Error()
    _lib.check(_lib.lib.sr_dataset_copy_labels(
        handle, 0, m, y.ctypes.data_as(_lib.c_int32_p), ctypes.byref(err)), err)
    return y.astype(np.uint8)


def parse_mnist(image_filename, label_filename):
    """Reads an IDX image file and its labels (raw or gzip).

    Returns
    -------
    X : float32 array (m, n), pixel values scaled to [0, 1] (v / 255)
    y : uint8 array (m), the labels
    """
    handle = _load_idx(image_filename, label_filename)
    try:
        m = _lib.lib.sr_dataset_rows(handle)
        n = _lib.lib.sr_dataset_features(handle)
        X = np.empty((m, n), dtype=np.float32)
        err = _lib.Error()
        _lib.check(_lib.lib.sr_dataset_copy_features(
            handle, 0, m, X.ctypes.data_as(_lib.c_float_p), ctypes.byref(err)),
            err)
        return X, _labels(handle, m)
    finally:
        _lib.lib.sr_dataset_free(handle)


def _f32(name, a, shape=None):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if a.ndim != 2 or (shape and a.shape != shape):
        raise ValueError(f"{name} must be a 2-dimensional array"
                         + (f" of shape {shape}" if shape else "")
                         + f", not of shape {a.shape}")
    return a


def _u8(y, m):
    y = np.asarray(y)
    if y.shape != (m,):
        raise ValueError(f"y must have shape ({m},), not {y.shape}")
    if y.size and (y.min() < 0 or y.max() > 255):
        raise ValueError("y must hold class indices in [0, 255]")
    return np.ascontiguousarray(y, dtype=np.uint8)


def _in_place(name, a, shape):
    if not isinstance(a, np.ndarray) or a.dtype != np.float32 or \
            not a.flags.c_contiguous or not a.flags.writeable or a.shape != shape:
        raise ValueError(f"{name} must be a writable C-contiguous float32 "
                         f"array of shape {shape} (it is updated in place)")
    return a


def softmax_loss(Z, y):
    """Mean softmax cross-entropy of logits Z (m, k) for labels y (m)."""
    Z = _f32("Z", Z)
    y = _u8(y, Z.shape[0])
    loss = ctypes.c_double()
    err = _lib.Error()
    _lib.check(_lib.lib.sr_softmax_loss(
        Z.ctypes.data_as(_lib.c_float_p), y.ctypes.data_as(_lib.c_uint8_p),
        Z.shape[0], Z.shape[1], ctypes.byref(loss), ctypes.byref(err)), err)
    return np.float32(loss.value)


def softmax_regression_epoch(X, y, theta, lr=0.1, batch=100):
    """One epoch of minibatch SGD on theta (n, k), updated in place:
    theta -= lr / B * X_b^T (Z - I_y) for each minibatch in order."""
    X = _f32("X", X)
    y = _u8(y, X.shape[0])
    theta = _in_place("theta", theta, (X.shape[1], theta.shape[1]
                                       if np.ndim(theta) == 2 else -1))
    err = _lib.Error()
    _lib.check(_lib.lib.sr_softmax_regression_epoch(
        X.ctypes.data_as(_lib.c_float_p), y.ctypes.data_as(_lib.c_uint8_p),
        theta.ctypes.data_as(_lib.c_float_p), X.shape[0], X.shape[1],
        theta.shape[1], lr, batch, ctypes.byref(err)), err)


def nn_epoch(X, y, W1, W2, lr=0.1, batch=100):
    """One epoch of minibatch SGD for logits = ReLU(X W1) W2; W1 (n, d) and
    W2 (d, k) updated in place."""
    X = _f32("X", X)
    y = _u8(y, X.shape[0])
    if np.ndim(W1) != 2 or np.ndim(W2) != 2:
        raise ValueError("W1 and W2 must be 2-dimensional")
    W1 = _in_place("W1", W1, (X.shape[1], np.shape(W1)[1]))
    W2 = _in_place("W2", W2, (W1.shape[1], np.shape(W2)[1]))
    err = _lib.Error()
    _lib.check(_lib.lib.sr_nn_epoch(
        X.ctypes.data_as(_lib.c_float_p), y.ctypes.data_as(_lib.c_uint8_p),
        W1.ctypes.data_as(_lib.c_float_p), W2.ctypes.data_as(_lib.c_float_p),
        X.shape[0], X.shape[1], W1.shape[1], W2.shape[1], lr, batch,
        ctypes.byref(err)), err)
