"""The estimators against the command on the same data and options: the
same parameters and probabilities, bit for bit; model files shared both
ways; the scikit-learn protocol (pickle, Pipeline, GridSearchCV)."""
import os
import pickle
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import softreg
from conftest import MNIST, ROOT, softreg_command, write_csv


def params_of(est):
    return est._model.params()


def assert_same_model(path, est):
    """The command's model file holds the estimator's parameters exactly."""
    theirs = softreg.load(path)._model.params()
    ours = params_of(est)
    assert theirs.keys() == ours.keys()
    for name in ours:
        np.testing.assert_array_equal(theirs[name], ours[name], err_msg=name)


def command_proba(model_path, csv_path):
    out = softreg_command("predict", model_path, csv_path, "--proba").stdout
    lines = out.strip().split("\n")[1:]
    return [l.split(",")[0] for l in lines], np.array(
        [[float(v) for v in l.split(",")[1:]] for l in lines], dtype=np.float32)


def split(X, y, every=3):
    test = np.arange(len(y)) % every == 0
    return X[~test], y[~test], X[test], y[test]


def test_softmax_defaults_match_the_command(tmp_path, iris):
    X, y = iris
    Xtr, ytr, Xte, yte = split(X, y)
    csv = write_csv(tmp_path / "train.csv", Xtr, ytr)
    test_csv = write_csv(tmp_path / "test.csv", Xte, yte)
    softreg_command("train", csv, "--out", tmp_path / "m.srm", "--quiet")
    est = softreg.SoftmaxRegression().fit(Xtr, ytr)
    assert_same_model(tmp_path / "m.srm", est)
    labels, proba = command_proba(tmp_path / "m.srm", test_csv)
    np.testing.assert_array_equal(est.predict_proba(Xte), proba)
    np.testing.assert_array_equal(est.predict(Xte), np.array(labels, dtype=int))
    assert est.converged_ and est.n_iter_ >= 1
    assert est.score(Xte, yte) > 0.9


def test_logistic_matches_the_command(tmp_path):
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    names = np.where(y == 1, "benign", "malignant")
    Xtr, ytr, Xte, yte = split(X, names)
    csv = write_csv(tmp_path / "train.csv", Xtr, ytr)
    test_csv = write_csv(tmp_path / "test.csv", Xte, yte)
    softreg_command("train", csv, "--model", "logistic", "--C", "0.5",
                    "--out", tmp_path / "m.srm", "--quiet")
    est = softreg.LogisticRegression(C=0.5).fit(Xtr, ytr)
    assert_same_model(tmp_path / "m.srm", est)
    labels, proba = command_proba(tmp_path / "m.srm", test_csv)
    assert list(est.classes_) == ["benign", "malignant"]
    np.testing.assert_array_equal(est.predict_proba(Xte)[:, 1], proba[:, 0])
    np.testing.assert_array_equal(est.predict(Xte), labels)
    assert est.decision_function(Xte).shape == (len(yte),)
    with pytest.raises(ValueError, match="binary"):
        softreg.LogisticRegression().fit(X[:30], np.arange(30) % 3)


def test_linear_matches_the_command(tmp_path):
    from sklearn.datasets import load_diabetes
    X, y = load_diabetes(return_X_y=True)
    X, y = X.astype(np.float32), y.astype(np.float32)
    Xtr, ytr, Xte, yte = split(X, y)
    csv = write_csv(tmp_path / "train.csv", Xtr, [f"{v:.9g}" for v in ytr])
    test_csv = write_csv(tmp_path / "test.csv", Xte, [f"{v:.9g}" for v in yte])
    softreg_command("train", csv, "--model", "linear", "--out",
                    tmp_path / "m.srm", "--quiet")
    est = softreg.LinearRegression().fit(Xtr, ytr)
    assert_same_model(tmp_path / "m.srm", est)
    out = softreg_command("predict", tmp_path / "m.srm", test_csv).stdout
    theirs = np.array(out.split()[1:], dtype=np.float32)
    np.testing.assert_array_equal(est.predict(Xte), theirs)
    # coef_ and intercept_ are on the raw inputs: they give the predictions.
    np.testing.assert_allclose(Xte @ est.coef_ + est.intercept_,
                               est.predict(Xte), rtol=1e-4, atol=1e-3)
    from sklearn.linear_model import LinearRegression as SkLinear
    sk = SkLinear().fit(Xtr, ytr)
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-3, atol=1e-2)


def test_network_and_sgd_match_the_command(tmp_path, iris):
    X, y = iris
    csv = write_csv(tmp_path / "train.csv", X, y)
    opts = ["--model", "nn", "--hidden", "8", "--epochs", "5", "--lr", "0.1",
            "--batch", "16", "--shuffle", "--momentum", "0.9", "--seed", "3"]
    softreg_command("train", csv, *opts, "--out", tmp_path / "m.srm", "--quiet")
    est = softreg.MLPClassifier(hidden=8, epochs=5, lr=0.1, batch=16,
                                shuffle=True, momentum=0.9, seed=3).fit(X, y)
    assert_same_model(tmp_path / "m.srm", est)
    assert len(est.history_["train_loss"]) == 5
    assert [w.shape for w in est.coefs_] == [(4, 8), (8, 3)]


def test_the_course_job_on_mnist(tmp_path, mnist):
    (X, y), (Xt, yt) = mnist
    course = dict(optimizer="sgd", lr=0.2, epochs=10, batch=100, C=None,
                  bias=False, standardize=False)
    est = softreg.SoftmaxRegression(**course).fit(X, y)
    # The course's table, last row (train) and its test error.
    np.testing.assert_allclose(est.history_["train_loss"][-1], 0.27887,
                               atol=5e-6)
    np.testing.assert_allclose(est.history_["train_err"][-1], 0.07847,
                               atol=5e-6)
    assert abs((1 - est.score(Xt, yt)) - 0.0797) < 1e-9
    softreg_command("train", "--data", MNIST, "--out", tmp_path / "m.srm",
                    "--quiet")
    assert_same_model(tmp_path / "m.srm", est)


def test_sparse_matches_dense():
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.RandomState(0)
    X = (rng.rand(200, 30) * (rng.rand(200, 30) < 0.2)).astype(np.float32)
    y = (X[:, :3].sum(axis=1) > 0.3).astype(int) + (X[:, 3] > 0.1)
    opts = dict(standardize=False, C=10.0)
    dense = softreg.SoftmaxRegression(**opts).fit(X, y)
    csr = softreg.SoftmaxRegression(**opts).fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(params_of(dense)["theta"],
                               params_of(csr)["theta"], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(dense.predict(X),
                                  csr.predict(sparse.csr_matrix(X)))


def test_zero_copy():
    sparse = pytest.importorskip("scipy.sparse")
    from softreg._data import DataSet
    X = np.random.RandomState(1).rand(20, 5).astype(np.float32)
    y = np.arange(20) % 2
    assert DataSet(X, y=y).features_address == X.ctypes.data
    # Fortran order and float64 must be converted: rows are read whole.
    assert DataSet(np.asfortranarray(X), y=y).features_address != X.ctypes.data
    assert DataSet(X.astype(np.float64), y=y).features_address != X.ctypes.data
    images = (np.arange(100, dtype=np.uint8).reshape(10, 10) % 7 + 1)
    assert DataSet(images, y=np.arange(10) % 2).features_address == images.ctypes.data
    csr = sparse.csr_matrix(X)
    assert DataSet(csr, y=y).features_address == csr.data.ctypes.data


def test_bad_input_is_a_clear_exception():
    X = np.random.RandomState(2).rand(30, 4).astype(np.float32)
    y = np.arange(30) % 3
    est = softreg.SoftmaxRegression()
    Xnan = X.copy()
    Xnan[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(Xnan, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X, y[:-1])
    with pytest.raises(ValueError, match="2D array"):
        est.fit(X[0], y)
    with pytest.raises(ValueError, match="features"):
        est.fit(X, y).predict(X[:, :3])
    with pytest.raises(ValueError, match="batch must be"):
        softreg.SoftmaxRegression(optimizer="sgd", batch=0).fit(X, y)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        softreg.SoftmaxRegression(optimizer="adam").fit(X, y)
    # The library's own checks come through with its message.
    from softreg._data import DataSet
    with pytest.raises(ValueError, match=r"X\[3\]\[2\] is not finite"):
        DataSet(Xnan, y=y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        est.fit(X, np.zeros(30))
    # A non-contiguous view is read correctly (copied), never misread.
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(est.fit(strided, y).predict_proba(strided),
                                  est.fit(X, y).predict_proba(X))


def test_model_files_both_ways(tmp_path, iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = softreg.SoftmaxRegression(C=2.0).fit(X, names)
    est.save(tmp_path / "py.srm")
    csv = write_csv(tmp_path / "iris.csv", X, names)
    labels, proba = command_proba(tmp_path / "py.srm", csv)
    np.testing.assert_array_equal(labels, est.predict(X))
    np.testing.assert_array_equal(proba, est.predict_proba(X))
    back = softreg.load(tmp_path / "py.srm")
    assert isinstance(back, softreg.SoftmaxRegression)
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(clone.predict_proba(X), est.predict_proba(X))
    with pytest.raises(OSError, match="nothing-here"):
        softreg.load(tmp_path / "nothing-here.srm")
    (tmp_path / "bad.srm").write_bytes(b"SRM1" + b"\x00" * 40)
    with pytest.raises(ValueError, match="bad.srm"):
        softreg.load(tmp_path / "bad.srm")


def test_pipeline_and_grid_search(iris):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = iris
    pipe = make_pipeline(StandardScaler(),
                         softreg.SoftmaxRegression(standardize=False))
    grid = GridSearchCV(pipe, {"softmaxregression__C": [0.01, 1.0, 100.0]},
                        cv=3).fit(X, y)
    assert grid.best_params_["softmaxregression__C"] in (1.0, 100.0)
    assert grid.best_score_ > 0.9


def test_partial_fit_continues(iris):
    X, y = iris
    est = softreg.SoftmaxRegression(optimizer="sgd", lr=0.1, batch=10,
                                    C=None, shuffle=True)
    est.partial_fit(X, y, classes=[0, 1, 2])
    first = est.history_["train_loss"][-1]
    for _ in range(5):
        est.partial_fit(X, y)
    assert est.history_["train_loss"][-1] < first
    assert len(est.history_["train_loss"]) == 1  # one epoch per call
    with pytest.raises(ValueError, match="not in classes"):
        est.partial_fit(X, y + 5)


def test_verbose_prints_the_table(capfd, iris):
    X, y = iris
    softreg.SoftmaxRegression(optimizer="sgd", epochs=2, verbose=1,
                              C=None).fit(X, y)
    out = capfd.readouterr().out.splitlines()
    assert out[0].startswith("| Epoch | Train Loss")
    assert out[1].startswith("|     0 |") and out[2].startswith("|     1 |")


def test_training_releases_the_gil(mnist):
    (X, y), _ = mnist
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    start = time.perf_counter()
    softreg.SoftmaxRegression(optimizer="sgd", epochs=2, C=None, bias=False,
                              standardize=False).fit(X, y)
    elapsed = time.perf_counter() - start
    stop.set()
    t.join()
    # A thread that slept 1 ms per tick got most of its ticks in.
    assert len(ticks) > 0.3 * elapsed / 0.0011


INTERRUPT = """
import os, signal, sys, threading, time
sys.path.insert(0, {python!r})
import softreg
X, y = softreg.load_mnist({mnist!r})
est = softreg.SoftmaxRegression(optimizer="sgd", epochs=100000, C=None,
                                bias=False, standardize=False)
threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    est.fit(X, y)
except KeyboardInterrupt:
    print("interrupted", time.time(), hasattr(est, "_model"), flush=True)
    print(est.score(X[:1000], y[:1000]) > 0.8)
"""


def test_ctrl_c_stops_fit_promptly():
    script = INTERRUPT.format(python=os.path.join(ROOT, "python"), mnist=MNIST)
    start = time.time()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    words = proc.stdout.split()
    assert words[0] == "interrupted"
    assert words[2] == "True" and words[3] == "True"  # kept its last epoch
    # The signal came about 1 s after the data were loaded; fit returned
    # within a second of it.
    assert float(words[1]) - start < 10


def test_test_set_gives_the_commands_table(capfd, mnist):
    (X, y), (Xt, yt) = mnist
    softreg.SoftmaxRegression(optimizer="sgd", lr=0.2, epochs=10, batch=100,
                              C=None, bias=False, standardize=False,
                              verbose=1).fit(X, y, test=(Xt, yt))
    ours = capfd.readouterr().out
    theirs = softreg_command("train", "--data", MNIST).stdout
    assert ours.splitlines() == theirs.splitlines()[:len(ours.splitlines())]
    assert ours.splitlines()[-1] == \
        "|     9 |    0.27887 |   0.07847 |   0.28442 |  0.07970 |"


def test_dataframe_column_names_reach_the_model_file(tmp_path, iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    cols = ["sepal length", "sepal width", "petal length", "petal width"]
    frame = pd.DataFrame(X, columns=cols)
    est = softreg.SoftmaxRegression().fit(frame, y)
    assert list(est.feature_names_in_) == cols
    est.save(tmp_path / "m.srm")
    info = softreg_command("info", tmp_path / "m.srm").stdout
    assert "petal width" in info
    # The command matches a file's columns by these names, in any order.
    shuffled = write_csv(tmp_path / "s.csv", X[:, ::-1], y, names=cols[::-1])
    labels, proba = command_proba(tmp_path / "m.srm", shuffled)
    np.testing.assert_array_equal(proba, est.predict_proba(frame))


def test_linear_with_two_targets_is_least_squares():
    from sklearn.linear_model import LinearRegression as SkLinear
    rng = np.random.RandomState(4)
    X = rng.randn(100, 3).astype(np.float32)
    Y = np.stack([X @ [1, 2, 3] + 0.5, X @ [-1, 0, 4] - 2], axis=1) + \
        0.01 * rng.randn(100, 2)
    est = softreg.LinearRegression().fit(X, Y)
    sk = SkLinear().fit(X, Y)
    assert est.predict(X).shape == (100, 2)
    np.testing.assert_allclose(est.coef_, sk.coef_, atol=1e-4)
    np.testing.assert_allclose(est.intercept_, sk.intercept_, atol=1e-4)
    assert est.score(X, Y) > 0.999


def test_network_probabilities_match_the_command(tmp_path, iris):
    X, y = iris
    csv = write_csv(tmp_path / "iris.csv", X, y)
    est = softreg.MLPClassifier(hidden=6, epochs=3, seed=1).fit(X, y)
    est.save(tmp_path / "nn.srm")
    labels, proba = command_proba(tmp_path / "nn.srm", csv)
    np.testing.assert_array_equal(proba, est.predict_proba(X))
    np.testing.assert_array_equal(np.array(labels, dtype=int), est.predict(X))
