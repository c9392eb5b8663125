"""softreg.hw against the homework's published values (CMU 10-714 hw0's
own tests, with the numerical gradient computed here in float64 where the
homework uses numdifftools)."""
import os

import numpy as np
import pytest

import softreg.hw as hw
from conftest import MNIST


def mnist_files(split="train"):
    return (os.path.join(MNIST, f"{split}-images-idx3-ubyte"),
            os.path.join(MNIST, f"{split}-labels-idx1-ubyte"))


@pytest.fixture(scope="module")
def train():
    return hw.parse_mnist(*mnist_files())


def test_parse_mnist(train):
    X, y = train
    assert X.dtype == np.float32 and y.dtype == np.uint8
    assert X.shape == (60000, 784) and y.shape == (60000,)
    np.testing.assert_allclose(np.linalg.norm(X[:10]), 27.892084)
    np.testing.assert_allclose(np.linalg.norm(X[:1000]), 293.0717, rtol=1e-6)
    np.testing.assert_equal(y[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])


def test_softmax_loss(train):
    X, y = train
    np.random.seed(0)
    Z = np.zeros((y.shape[0], 10))
    np.testing.assert_allclose(hw.softmax_loss(Z, y), 2.3025850)
    Z = np.random.randn(y.shape[0], 10)
    np.testing.assert_allclose(hw.softmax_loss(Z, y), 2.7291998, rtol=1e-6)


def numerical_gradient(f, theta, h=1e-4):
    g = np.zeros_like(theta, dtype=np.float64)
    for i in np.ndindex(theta.shape):
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        g[i] = (f(up) - f(down)) / (2 * h)
    return g


def softmax_loss64(Z, y):
    Z = Z - Z.max(axis=1, keepdims=True)
    return np.mean(np.log(np.exp(Z).sum(axis=1)) - Z[np.arange(len(y)), y])


def test_softmax_regression_epoch_is_the_gradient():
    np.random.seed(0)
    X = np.random.randn(50, 5).astype(np.float32)
    y = np.random.randint(3, size=(50,)).astype(np.uint8)
    theta = np.zeros((5, 3), dtype=np.float32)
    grad = -numerical_gradient(
        lambda th: softmax_loss64(X.astype(np.float64) @ th, y),
        np.zeros((5, 3)))
    hw.softmax_regression_epoch(X, y, theta, lr=1.0, batch=50)
    np.testing.assert_allclose(grad, theta, rtol=1e-4, atol=1e-6)


def test_softmax_regression_epoch_mnist(train):
    X, y = train
    theta = np.zeros((X.shape[1], y.max() + 1), dtype=np.float32)
    hw.softmax_regression_epoch(X[:100], y[:100], theta, lr=0.1, batch=10)
    np.testing.assert_allclose(np.linalg.norm(theta), 1.0947356,
                               rtol=1e-5, atol=1e-5)


def test_nn_epoch_mnist(train):
    X, y = train
    np.random.seed(0)
    W1 = np.random.randn(X.shape[1], 100).astype(np.float32) / np.sqrt(100)
    W2 = np.random.randn(100, 10).astype(np.float32) / np.sqrt(10)
    hw.nn_epoch(X, y, W1, W2, lr=0.2, batch=100)
    np.testing.assert_allclose(np.linalg.norm(W1), 28.437788,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(W2), 10.455095,
                               rtol=1e-5, atol=1e-5)


def test_in_place_arguments_must_be_updatable():
    X = np.ones((4, 3), dtype=np.float32)
    y = np.zeros(4, dtype=np.uint8)
    for theta in (np.zeros((3, 2)),                       # float64
                  np.zeros((2, 3), dtype=np.float32).T,   # not C-contiguous
                  np.zeros((4, 2), dtype=np.float32)):    # wrong shape
        with pytest.raises(ValueError, match="theta must be a writable"):
            hw.softmax_regression_epoch(X, y, theta)
    with pytest.raises(ValueError, match="y must have shape"):
        hw.softmax_loss(np.zeros((4, 2)), np.zeros(3))


def test_parse_mnist_bad_file(tmp_path):
    bad = tmp_path / "images"
    bad.write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 12)
    with pytest.raises(ValueError, match="images"):
        hw.parse_mnist(bad, mnist_files()[1])
    with pytest.raises(OSError, match="missing"):
        hw.parse_mnist(tmp_path / "missing", mnist_files()[1])


def test_load_mnist(tmp_path, mnist):
    import softreg
    (X, y), (Xt, yt) = mnist
    assert X.dtype == np.uint8 and X.shape == (60000, 784) and X.flags.writeable
    Xf, yf = hw.parse_mnist(*mnist_files())
    np.testing.assert_array_equal(X.astype(np.float32) / np.float32(255), Xf)
    np.testing.assert_array_equal(y, yf)
    assert Xt.shape == (10000, 784)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" +
                                                       b"\x00" * 8)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        softreg.load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="no t10k-images"):
        softreg.load_mnist(tmp_path, "t10k")
