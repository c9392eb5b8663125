"""Stand-ins for the few scikit-learn pieces the estimators use, for
machines without scikit-learn: parameters by introspection of __init__,
score() as accuracy or R^2."""
import inspect

import numpy as np


class NotFittedError(ValueError, AttributeError):
    pass


class BaseEstimator:
    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind == p.KEYWORD_ONLY)

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for "
                                 f"{type(self).__name__}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class ClassifierMixin:
    _estimator_type = "classifier"

    def score(self, X, y):
        return float(np.mean(self.predict(X) == np.asarray(y)))


class RegressorMixin:
    _estimator_type = "regressor"

    def score(self, X, y):
        y = np.asarray(y, dtype=np.float64)
        residual = ((y - self.predict(X)) ** 2).sum()
        total = ((y - y.mean(axis=0)) ** 2).sum()
        return float(1 - residual / total)


def check_classification_targets(y):
    kind = np.asarray(y).dtype.kind
    if kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError("Unknown label type: continuous")


def check_is_fitted(est, attribute):
    if not hasattr(est, attribute):
        raise NotFittedError(f"This {type(est).__name__} instance is not "
                             "fitted yet. Call 'fit' first.")
