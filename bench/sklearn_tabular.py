"""scikit-learn's figures on the split of scripts/tabular-sets, the
reference of softreg's defaults for tabular files (tests/test_tabular.c
holds them as constants):
    scripts/tabular-sets DIR && /usr/bin/python3 bench/sklearn_tabular.py DIR
Classification: make_pipeline(StandardScaler(), LogisticRegression()), its
defaults (C = 1, lbfgs); regression: LinearRegression(). Prints the test
error (the fraction misclassified) or the test RMSE."""
import sys

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def read(path, regression):
    with open(path) as f:
        next(f)
        rows = [line.rstrip("\n").split(",") for line in f if line.strip()]
    X = np.array([[float(v) for v in r[:-1]] for r in rows])
    y = np.array([float(r[-1]) if regression else r[-1] for r in rows])
    return X, y


def main():
    d = sys.argv[1]
    for name in ("iris", "wine", "breast_cancer", "digits", "diabetes"):
        regression = name == "diabetes"
        Xtr, ytr = read("%s/%s-train.csv" % (d, name), regression)
        Xte, yte = read("%s/%s-test.csv" % (d, name), regression)
        if regression:
            p = LinearRegression().fit(Xtr, ytr).predict(Xte)
            print("%-14s test RMSE %.4f" % (name, np.sqrt(np.mean((p - yte) ** 2))))
        else:
            m = make_pipeline(StandardScaler(), LogisticRegression())
            p = m.fit(Xtr, ytr).predict(Xte)
            print("%-14s test error %.4f (%d of %d)" % (
                name, np.mean(p != yte), np.sum(p != yte), len(yte)))


if __name__ == "__main__":
    main()
