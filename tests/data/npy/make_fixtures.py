#!/usr/bin/python3
"""Writes the .npy fixtures of tests/test_npy.c and prints the NumPy numbers
that tests/test_rng.c holds as constants. Run once with a Python that has
NumPy (Debian: /usr/bin/python3, numpy 1.24):

    /usr/bin/python3 tests/data/npy/make_fixtures.py          # fixtures
    /usr/bin/python3 tests/data/npy/make_fixtures.py --rng    # rng constants

The tests themselves never need NumPy.
"""
import math
import os
import sys

import numpy as np
from numpy.lib import format as npf

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, arr, version=None):
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        if version is None:
            np.save(f, arr)
        else:
            npf.write_array(f, arr, version=version)


def fixtures():
    save("f4_2d.npy", (np.arange(12, dtype=np.float32) / 4 - 1).reshape(3, 4))
    save("f4_1d.npy", np.array([0.5, -1.25, 3.0e38, 1.0e-45], dtype=np.float32))
    save("f8_1d.npy", np.array([0.1, -2.5, 3.0, 7.0, 1e-300]))
    save("labels_f8.npy", np.array([0.0, 9.0, 3.0]))
    save("u1_2d.npy", np.array([[0, 1, 2], [253, 254, 255]], dtype=np.uint8))
    save("i1_1d.npy", np.array([-128, -1, 0, 127], dtype=np.int8))
    save("i2_1d.npy", np.array([-32768, 0, 32767], dtype=np.int16))
    save("u2_1d.npy", np.array([0, 65535], dtype=np.uint16))
    save("i4_2d.npy", np.array([[-2**31, -1], [0, 2**31 - 1]], dtype=np.int32))
    save("u4_1d.npy", np.array([0, 2**32 - 1], dtype=np.uint32))
    save("i8_1d.npy", np.array([-2**63, 0, 2**63 - 1, 16777217], dtype=np.int64))
    save("u8_1d.npy", np.array([0, 2**63 - 1, 2**64 - 1], dtype=np.uint64))
    save("be_f8.npy", np.array([1.5, -0.25], dtype=">f8"))
    save("be_i4.npy", np.array([1, -2, 305419896], dtype=">i4"))
    save("v2_f4.npy", np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32),
         version=(2, 0))
    save("v3_u1.npy", np.array([7, 8, 9], dtype=np.uint8), version=(3, 0))
    save("empty_2d.npy", np.zeros((0, 3), dtype=np.float32))
    save("empty_1d.npy", np.zeros((0,), dtype=np.uint8))
    save("fortran_f4.npy",
         np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    save("scalar_f8.npy", np.array(2.5))
    save("3d_u1.npy", np.zeros((1, 2, 2), dtype=np.uint8))
    save("f2_1d.npy", np.array([1.0, 2.0], dtype=np.float16))
    save("struct.npy", np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")]))
    save("b1_1d.npy", np.array([True, False]))


def checks(name, a):
    bits = a.view(np.uint32).astype(np.uint64)
    weights = np.arange(1, a.size + 1, dtype=np.uint64)
    print("%s: first %r middle[%d] %r last %r" %
          (name, float(a.flat[0]), a.size // 2, float(a.flat[a.size // 2]),
           float(a.flat[-1])))
    print("  fsum %r  bit sum %d  weighted bit sum %d" %
          (math.fsum(a.astype(np.float64).ravel()), int(bits.sum()),
           int((weights * bits.ravel()).sum())))


def rng_constants():
    np.random.seed(0)
    print("seed 0 randn(6):", [repr(float(x)) for x in np.random.randn(6)])
    np.random.seed(0)
    W1 = np.random.randn(784, 100).astype(np.float32) / np.sqrt(100)
    W2 = np.random.randn(100, 10).astype(np.float32) / np.sqrt(10)
    assert W1.dtype == np.float32 and W2.dtype == np.float32
    checks("W1 (784, 100)", W1)
    checks("W2 (100, 10)", W2)
    np.random.seed(42)
    print("seed 42 random_sample(5):",
          [repr(float(x)) for x in np.random.random_sample(5)])
    np.random.seed(42)
    print("seed 42 randint(2**32, size=3, dtype=uint64):",
          [int(x) for x in np.random.randint(2**32, size=3, dtype=np.uint64)])
    # randint(0, max + 1) takes NumPy's masked rejection path, as interval does.
    for seed, hi in ((1, 1000), (1, 7), (1, 2**40), (5, 2**63)):
        np.random.seed(seed)
        print("seed %d randint(0, %d, size=6):" % (seed, hi),
              [int(x) for x in np.random.randint(0, hi, size=6,
                                                 dtype=np.uint64)])
    np.random.seed(0)
    print("seed 0 permutation(10):", list(np.random.permutation(10)))
    np.random.seed(7)
    p = np.random.permutation(60000)
    print("seed 7 permutation(60000): head", list(p[:5]), "tail", list(p[-5:]))
    print("  weighted sum", int((np.arange(1, 60001, dtype=np.uint64) *
                                 p.astype(np.uint64)).sum()))
    # After a permutation the stream continues where the shuffle left it.
    print("  next randn", repr(float(np.random.randn())))


if __name__ == "__main__":
    if sys.argv[1:] == ["--rng"]:
        rng_constants()
    else:
        fixtures()
