#!/usr/bin/python3
"""Writes MNIST as LIBSVM text (pixels / 255, 1-based indices, zeros left
out) so that LIBLINEAR and softreg can be compared on the same files.

usage: mnist_to_libsvm.py DATA_DIR OUT_DIR
"""
import os
import struct
import sys


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return raw[4 + 4 * ndim:], dims


def convert(data_dir, split, out_path):
    pixels, (m, rows, cols) = read_idx(os.path.join(data_dir, split + "-images-idx3-ubyte"))
    labels, _ = read_idx(os.path.join(data_dir, split + "-labels-idx1-ubyte"))
    n = rows * cols
    with open(out_path, "w") as out:
        for i in range(m):
            row = pixels[i * n:(i + 1) * n]
            feats = " ".join("%d:%.9g" % (j + 1, v / 255.0) for j, v in enumerate(row) if v)
            out.write("%d %s\n" % (labels[i], feats))


if __name__ == "__main__":
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    convert(src, "train", os.path.join(dst, "mnist-train.svm"))
    convert(src, "t10k", os.path.join(dst, "mnist-test.svm"))
