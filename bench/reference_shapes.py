#!/usr/bin/python3
"""Softmax regression by minibatch SGD, written as a user of NumPy, PyTorch
or SciPy would write it: the side-by-side reference of the shapes benchmark
(bench/shapes.py). Run with Debian's python3-numpy, python3-torch and
python3-scipy.

usage: reference_shapes.py numpy|torch|scipy --format idx|npy|libsvm
           --train X [--labels Y] --test X [--test-labels Y] [--classes K]
           [--bias] [--epochs E] [--lr A] [--batch B] [--threads T]
           [--limit N]

The algorithm is softreg's `train --optimizer sgd`: theta (n, k) and b (k)
start at zero; minibatches of B rows in the data's order (the last one
partial); logits = X theta + b, G = softmax(logits) - onehot(y),
theta -= lr/B X^T G, b -= lr/B sum(G); float32 throughout. After every
epoch it prints the loss and error on the whole training and test sets in
softreg's table, and on stderr the seconds of loading and of each epoch's
SGD pass.

numpy and torch train on dense arrays (IDX pixels become v / 255, as the
course does); scipy trains on a CSR matrix and updates only the rows of
theta that the minibatch's features touch, as anyone training on sparse
text does (X^T G as a dense (n, k) array would cost O(n k) a minibatch).
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np


# ---- Readers --------------------------------------------------------------

def read_idx(path):
    """An IDX file (raw or gzip) as a uint8 array of its dimensions."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_libsvm(path, n=0):
    """(labels, indptr, indices, values) of a LIBSVM file, indices 0-based;
    n is the width (0: the file's largest index)."""
    with open(path, "rb") as f:
        text = f.read()
    lines = text.split(b"\n")
    if lines and not lines[-1].strip():
        lines.pop()
    nnz = np.array([line.count(b":") for line in lines], dtype=np.int64)
    # Every number of the file in order: label, index, value, index, ...
    numbers = np.fromstring(text.replace(b":", b" "), sep=" ")
    starts = np.concatenate([[0], np.cumsum(1 + 2 * nnz)[:-1]])
    labels = numbers[starts].astype(np.int64)
    pairs = np.delete(numbers, starts)
    indices = pairs[0::2].astype(np.int32) - 1
    values = pairs[1::2].astype(np.float32)
    indptr = np.concatenate([[0], np.cumsum(nnz)])
    return labels, indptr, indices, values, n or int(indices.max()) + 1


def load(a):
    """Training and test sets: X dense float32 or (indptr, indices, values,
    n) for libsvm, and int64 labels."""
    if a.format == "npy":
        return ((np.load(a.train), np.load(a.labels).astype(np.int64)),
                (np.load(a.test), np.load(a.test_labels).astype(np.int64)))
    if a.format == "idx":
        def images(path, labels):
            X = read_idx(path)
            X = X.reshape(X.shape[0], -1).astype(np.float32) / 255.0
            return X, read_idx(labels).astype(np.int64)
        return images(a.train, a.labels), images(a.test, a.test_labels)
    y, *train = read_libsvm(a.train)
    yt, *test = read_libsvm(a.test, train[3])
    return (tuple(train), y), (tuple(test), yt)


# ---- NumPy ------------------------------------------------------------------

def softmax_minus_onehot(Z, y):
    """Z (B, k) logits, overwritten with softmax(Z) - onehot(y)."""
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    Z[np.arange(y.size), y] -= 1


def loss_err_np(Z, y):
    """Mean softmax loss and error of logits Z (m, k)."""
    zmax = Z.max(axis=1)
    lse = np.log(np.exp(Z - zmax[:, None]).sum(axis=1)) + zmax
    loss = np.mean(lse - Z[np.arange(y.size), y], dtype=np.float64)
    return loss, np.mean(Z.argmax(axis=1) != y)


class NumpyDense:
    def __init__(self, n, k, bias, threads):
        self.theta = np.zeros((n, k), dtype=np.float32)
        self.b = np.zeros(k, dtype=np.float32) if bias else None

    def logits(self, X):
        Z = X @ self.theta
        if self.b is not None:
            Z += self.b
        return Z

    def epoch(self, X, y, lr, batch):
        for i in range(0, X.shape[0], batch):
            Xb, yb = X[i:i + batch], y[i:i + batch]
            G = self.logits(Xb)
            softmax_minus_onehot(G, yb)
            self.theta -= (lr / yb.size) * (Xb.T @ G)
            if self.b is not None:
                self.b -= (lr / yb.size) * G.sum(axis=0)

    def loss_err(self, X, y):
        return loss_err_np(self.logits(X), y)


class ScipySparse(NumpyDense):
    """X is a scipy.sparse CSR matrix."""

    def epoch(self, X, y, lr, batch):
        from scipy.sparse import csr_matrix
        for i in range(0, X.shape[0], batch):
            Xb, yb = X[i:i + batch], y[i:i + batch]
            G = self.logits(Xb)
            softmax_minus_onehot(G, yb)
            # The step touches only the theta rows of the features present:
            # X^T G over the minibatch's columns, renumbered 0..c-1.
            cols, local = np.unique(Xb.indices, return_inverse=True)
            Xc = csr_matrix((Xb.data, local, Xb.indptr),
                            shape=(yb.size, cols.size))
            self.theta[cols] -= (lr / yb.size) * (Xc.T @ G)
            if self.b is not None:
                self.b -= (lr / yb.size) * G.sum(axis=0)


# ---- PyTorch ----------------------------------------------------------------

class TorchDense:
    def __init__(self, n, k, bias, threads):
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        torch.set_grad_enabled(False)
        self.theta = torch.zeros(n, k, dtype=torch.float32)
        self.b = torch.zeros(k, dtype=torch.float32) if bias else None

    def logits(self, X):
        if self.b is not None:
            return self.torch.addmm(self.b, X, self.theta)
        return X @ self.theta

    def epoch(self, X, y, lr, batch):
        torch = self.torch
        for i in range(0, X.shape[0], batch):
            Xb, yb = X[i:i + batch], y[i:i + batch]
            G = torch.softmax(self.logits(Xb), dim=1)
            G[torch.arange(yb.numel()), yb] -= 1
            self.theta.addmm_(Xb.t(), G, alpha=-lr / yb.numel())
            if self.b is not None:
                self.b.add_(G.sum(dim=0), alpha=-lr / yb.numel())

    def loss_err(self, X, y):
        torch = self.torch
        Z = self.logits(X)
        lse = torch.logsumexp(Z, dim=1)
        loss = (lse - Z[torch.arange(y.numel()), y]).double().mean().item()
        return loss, (Z.argmax(dim=1) != y).double().mean().item()


# ---- Driver -----------------------------------------------------------------

def row(epoch, tr, te):
    print("|  {:>4} |    {:.5f} |   {:.5f} |   {:.5f} |  {:.5f} |".format(
        epoch, tr[0], tr[1], te[0], te[1]), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("backend", choices=["numpy", "torch", "scipy"])
    ap.add_argument("--format", required=True, choices=["idx", "npy", "libsvm"])
    ap.add_argument("--train", required=True)
    ap.add_argument("--labels")
    ap.add_argument("--test", required=True)
    ap.add_argument("--test-labels")
    ap.add_argument("--classes", type=int, default=0)
    ap.add_argument("--bias", action="store_true")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2,
                    help="PyTorch's threads (NumPy's BLAS keeps its default)")
    ap.add_argument("--limit", type=int, default=0,
                    help="train on the first N training examples only")
    a = ap.parse_args()
    if (a.format == "libsvm") != (a.backend == "scipy"):
        ap.error("scipy trains on libsvm files, numpy and torch on the others")

    t0 = time.perf_counter()
    (X, y), (Xt, yt) = load(a)
    if a.limit and a.format != "libsvm":
        X, y = X[:a.limit], y[:a.limit]
    if a.backend == "scipy":
        from scipy.sparse import csr_matrix
        indptr, indices, values, n = X
        X = csr_matrix((values, indices, indptr), shape=(y.size, n))
        indptr, indices, values, _ = Xt
        Xt = csr_matrix((values, indices, indptr), shape=(yt.size, n))
    n = X.shape[1]
    k = a.classes or int(max(y.max(), yt.max())) + 1
    model = {"numpy": NumpyDense, "torch": TorchDense,
             "scipy": ScipySparse}[a.backend](n, k, a.bias, a.threads)
    if a.backend == "torch":
        import torch
        X, Xt = torch.from_numpy(X), torch.from_numpy(Xt)
        y, yt = torch.from_numpy(y), torch.from_numpy(yt)
    print("load %.3f s" % (time.perf_counter() - t0), file=sys.stderr)

    print("| Epoch | Train Loss | Train Err | Test Loss | Test Err |")
    for e in range(a.epochs):
        t1 = time.perf_counter()
        model.epoch(X, y, a.lr, a.batch)
        t2 = time.perf_counter()
        row(e, model.loss_err(X, y), model.loss_err(Xt, yt))
        print("epoch %d: sgd %.6f s, evaluation %.6f s" % (
            e, t2 - t1, time.perf_counter() - t2), file=sys.stderr)


if __name__ == "__main__":
    main()
