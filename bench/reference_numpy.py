#!/usr/bin/python3
"""The course's algorithms written plainly in NumPy (float32, as the homework
does), used as the side-by-side reference in benchmarks and to cross-check
softreg's numbers. Run with Debian's python3-numpy.

usage: reference_numpy.py softmax|nn [--epochs E] [--lr A] [--batch B]
                          [--hidden D] [--data DIR] [--limit N]
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np


def read_idx(path):
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(directory, split):
    X = read_idx(os.path.join(directory, split + "-images-idx3-ubyte"))
    y = read_idx(os.path.join(directory, split + "-labels-idx1-ubyte"))
    X = X.reshape(X.shape[0], -1).astype(np.float32) / 255.0
    return X, y


def softmax_loss(Z, y):
    return np.mean(np.log(np.sum(np.exp(Z), axis=1)) - Z[np.arange(Z.shape[0]), y])


def loss_err(h, y):
    return softmax_loss(h, y), np.mean(h.argmax(axis=1) != y)


def softmax_epoch(X, y, theta, lr, batch):
    for i in range(0, X.shape[0], batch):
        Xb, yb = X[i:i + batch], y[i:i + batch]
        E = np.exp(Xb @ theta)
        Z = E / E.sum(axis=1, keepdims=True)
        Z[np.arange(yb.size), yb] -= 1
        theta -= lr / Xb.shape[0] * (Xb.T @ Z)


def nn_epoch(X, y, W1, W2, lr, batch):
    for i in range(0, X.shape[0], batch):
        Xb, yb = X[i:i + batch], y[i:i + batch]
        Z1 = np.maximum(Xb @ W1, 0)
        E = np.exp(Z1 @ W2)
        G2 = E / E.sum(axis=1, keepdims=True)
        G2[np.arange(yb.size), yb] -= 1
        G1 = (Z1 > 0) * (G2 @ W2.T)
        W1 -= lr / Xb.shape[0] * (Xb.T @ G1)
        W2 -= lr / Xb.shape[0] * (Z1.T @ G2)


def row(epoch, tr, te):
    print("|  {:>4} |    {:.5f} |   {:.5f} |   {:.5f} |  {:.5f} |".format(
        epoch, tr[0], tr[1], te[0], te[1]), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["softmax", "nn"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    t0 = time.perf_counter()
    X_tr, y_tr = load(a.data, "train")
    X_te, y_te = load(a.data, "t10k")
    if a.limit:
        X_tr, y_tr = X_tr[:a.limit], y_tr[:a.limit]
    n, k = X_tr.shape[1], int(y_tr.max()) + 1
    t1 = time.perf_counter()
    print("| Epoch | Train Loss | Train Err | Test Loss | Test Err |")
    if a.model == "softmax":
        theta = np.zeros((n, k), dtype=np.float32)
        for e in range(a.epochs):
            softmax_epoch(X_tr, y_tr, theta, a.lr, a.batch)
            row(e, loss_err(X_tr @ theta, y_tr), loss_err(X_te @ theta, y_te))
    else:
        np.random.seed(0)
        W1 = np.random.randn(n, a.hidden).astype(np.float32) / np.sqrt(a.hidden)
        W2 = np.random.randn(a.hidden, k).astype(np.float32) / np.sqrt(k)
        for e in range(a.epochs):
            nn_epoch(X_tr, y_tr, W1, W2, a.lr, a.batch)
            row(e, loss_err(np.maximum(X_tr @ W1, 0) @ W2, y_tr),
                loss_err(np.maximum(X_te @ W1, 0) @ W2, y_te))
    t2 = time.perf_counter()
    print("load %.3f s, train+eval %.3f s" % (t1 - t0, t2 - t1), file=sys.stderr)


if __name__ == "__main__":
    main()
