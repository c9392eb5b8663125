"""scikit-learn's own estimator checks, for every estimator.

Skipped checks, and why:
- check_sample_weights_*: fit() takes no sample_weight (the library
  weighs classes, not examples); scikit-learn skips these by itself.
- check_class_weight_classifiers: it passes class_weight as a dict of
  per-class weights; the library offers None and 'balanced' only.
- checks that need pandas report a SkipTest when it is not installed.
"""
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from unittest import SkipTest  # noqa: E402

import softreg  # noqa: E402

SKIPPED = {"check_class_weight_classifiers"}

ESTIMATORS = [
    softreg.SoftmaxRegression(),
    softreg.LogisticRegression(),
    softreg.LinearRegression(),
    softreg.MLPClassifier(hidden=16, epochs=30),
]


@pytest.mark.parametrize("estimator", ESTIMATORS,
                         ids=lambda e: type(e).__name__)
def test_check_estimator(estimator):
    failures = []
    for est, check in check_estimator(estimator, generate_only=True):
        name = getattr(check, "func", check).__name__
        if name in SKIPPED:
            continue
        try:
            check(est)
        except SkipTest:
            pass
        except Exception as exc:  # collect them all, then report
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)
