"""scikit-learn compatible estimators over the library.

Every estimator takes the options of `softreg train` as constructor
parameters, stores them unchanged (scikit-learn's rule), and checks them
when fit() builds the library's sr_train_params. When scikit-learn is
installed the estimators derive from its base classes, validate their
input with its helpers (so they work in Pipeline and GridSearchCV and pass
check_estimator); without it a small stand-in gives get_params/set_params.
"""
import os
import tempfile

import numpy as np

from . import _lib
from ._data import DataSet, is_sparse
from ._model import Model
from ._train import Interrupted, train

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d
    HAVE_SKLEARN = True
except ImportError:  # scikit-learn is optional
    HAVE_SKLEARN = False
    from ._fallback import (BaseEstimator, ClassifierMixin, RegressorMixin,
                            NotFittedError, check_classification_targets,
                            check_is_fitted)

_DTYPES = [np.float32, np.float64, np.uint8]


class _Softreg(BaseEstimator):
    """Parameters shared by every estimator (the options of `softreg train`).

    Parameters
    ----------
    optimizer : {'lbfgs', 'newton', 'sgd', 'gd', 'exact'}
        'lbfgs' and 'newton' minimise the full objective to convergence
        (at most `max_iter` iterations); 'sgd' runs `epochs` passes of
        minibatch SGD (the course's), 'gd' `epochs` full-batch steps;
        'exact' solves least squares directly (LinearRegression only).
    C : float or None
        Inverse penalty, as in scikit-learn: the L2 weight decay is
        1 / (C m) for m training examples. None for no penalty.
    l2 : float or None
        The weight decay lambda itself (the objective adds lambda/2 ||W||^2,
        biases not decayed); overrides C when given.
    bias : bool
        Fit an intercept per output.
    standardize : bool or 'auto'
        Scale the features by the training set's mean and deviation (kept
        in the model and applied to every later input; sparse data by the
        deviation only, as centring would fill them in). 'auto', as the
        command does: dense data yes, sparse data no.
    lr, epochs, batch, momentum, shuffle : SGD and GD settings.
    max_iter, tol : L-BFGS and Newton settings (tol: Newton's relative
        gradient-norm test, None = the library's 1e-3).
    seed : int
        Seeds the initialisation, shuffling and the validation split.
    threads : int
        Threads to train with (0 = every core); results are the same bits
        for any number.
    early_stop : int
        With `val_split`, stop after this many epochs without a better
        validation loss and keep the best (0 = never).
    val_split : float
        Fraction of the training rows held out for validation (stratified).
    class_weight : None or 'balanced'
    poly : int
        Feature map x, x^2, ..., x^poly (1 = none).
    verbose : int
        1 prints the epoch table as training goes.
    """

    _model_kind = None

    def _params(self, m, sparse=False):
        p = _lib.lib.sr_train_params_default()
        p.model = _lib.MODEL[self._model_kind]
        if self.optimizer not in _lib.OPTIMIZER:
            raise ValueError(f"optimizer must be one of {sorted(_lib.OPTIMIZER)}, "
                             f"not {self.optimizer!r}")
        p.optimizer = _lib.OPTIMIZER[self.optimizer]
        if self.l2 is not None:
            p.l2 = float(self.l2)
        elif self.C is not None:
            if not self.C > 0:
                raise ValueError(f"C must be positive, not {self.C!r}")
            p.l2 = 1.0 / (float(self.C) * m)
        else:
            p.l2 = 0.0
        p.bias = int(bool(self.bias))
        if isinstance(self.standardize, str):
            if self.standardize != "auto":
                raise ValueError("standardize must be True, False or 'auto', "
                                 f"not {self.standardize!r}")
            p.standardize = int(not sparse)
        else:
            p.standardize = int(bool(self.standardize))
        p.lr = float(self.lr)
        p.epochs = _count("epochs", self.epochs)
        p.batch = _count("batch", self.batch)
        p.momentum = float(self.momentum)
        p.shuffle = int(bool(self.shuffle))
        p.max_iter = _count("max_iter", self.max_iter)
        p.tol = 0.0 if self.tol is None else float(self.tol)
        p.seed = int(self.seed) & 0xFFFFFFFF
        p.threads = _count("threads", self.threads, zero=True)
        p.early_stop = _count("early_stop", self.early_stop, zero=True)
        p.val_split = float(self.val_split)
        if self.class_weight not in _lib.CLASS_WEIGHT:
            raise ValueError("class_weight must be None or 'balanced', not "
                             f"{self.class_weight!r}")
        p.class_weight = _lib.CLASS_WEIGHT[self.class_weight]
        p.poly = _count("poly", self.poly)
        p.evaluate = 1
        return p

    # ---- input ----------------------------------------------------------

    def _check_X(self, X, reset):
        if HAVE_SKLEARN:
            return self._validate_data(X, accept_sparse="csr", dtype=_DTYPES,
                                       reset=reset)
        return _fallback_check_X(self, X, reset)

    def _check_X_y(self, X, y, reset, multi_output=False):
        if HAVE_SKLEARN:
            return self._validate_data(X, y, accept_sparse="csr",
                                       dtype=_DTYPES, reset=reset,
                                       multi_output=multi_output,
                                       y_numeric=multi_output)
        X = _fallback_check_X(self, X, reset)
        y = np.asarray(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
        return X, y

    def _feature_names(self):
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(v) for v in names]

    def _data(self, X, **labels):
        return DataSet(X, **labels)

    # ---- training -------------------------------------------------------

    def _fit(self, data, m, warm, test=None):
        params = self._params(m, data.sparse)
        if warm is not None:
            params.warm_start = warm.handle
        self._extra_params(params)
        try:
            model, history, outcome = train(data, params, bool(self.verbose),
                                            test)
        except Interrupted as stop:
            if stop.model is not None:
                self._set_model(stop.model)
            raise KeyboardInterrupt from None
        self._set_model(model)
        self.history_ = history
        self.n_iter_ = int(outcome.iterations)
        self.converged_ = bool(outcome.converged)
        self.stop_reason_ = outcome.reason.decode("utf-8", "replace")
        return self

    def _extra_params(self, params):
        pass

    def _set_model(self, model):
        self._model = model
        self.n_features_in_ = model.features
        names = model.feature_names()
        if names is not None and not hasattr(self, "feature_names_in_"):
            self.feature_names_in_ = np.asarray(names, dtype=object)

    # ---- output ---------------------------------------------------------

    def _view(self, X):
        check_is_fitted(self, "_model")
        X = self._check_X(X, reset=False)
        return self._data(X), X.shape[0]

    def save(self, path):
        """Writes the model as a .srm file (the command's `--out`)."""
        check_is_fitted(self, "_model")
        self._model.save(path)

    def __getstate__(self):
        state = self.__dict__.copy()
        model = state.pop("_model", None)
        if model is not None:
            state["_model_bytes"] = _model_bytes(model)
        return state

    def __setstate__(self, state):
        blob = state.pop("_model_bytes", None)
        self.__dict__.update(state)
        if blob is not None:
            self._model = _model_from_bytes(blob)

    @property
    def coef_(self):
        check_is_fitted(self, "_model")
        theta, b = self._unscaled()
        return theta.T

    @property
    def intercept_(self):
        check_is_fitted(self, "_model")
        theta, b = self._unscaled()
        return b

    def _unscaled(self):
        """theta (n, k) and b (k) on the inputs before standardisation:
        x theta + b equals the model's ((x - mean) * inv_std) theta + b."""
        params = self._model.params()
        theta = params["theta"].astype(np.float64)
        k = theta.shape[1]
        b = params["b"].reshape(k).astype(np.float64) if "b" in params \
            else np.zeros(k)
        scaling = self._model.scaling()
        if scaling is not None:
            mean, inv = (v.astype(np.float64) for v in scaling)
            theta = theta * inv[:, None]
            b = b - mean @ theta
        return theta, b


class _Classifier(ClassifierMixin, _Softreg):

    def fit(self, X, y, test=None):
        """Trains on X (m, n) and labels y (m) of any kind.

        Parameters
        ----------
        X : array (m, n) of float32/float64/integers, uint8 images (pixel
            v worth v / 255), or a scipy.sparse matrix (CSR)
        y : array (m) of class labels (integers or strings)
        test : (X_test, y_test) or None
            Evaluated after every epoch, as the command's --test: its loss
            and error join history_ (and the table of verbose=1).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Bad input (NaN, shapes, labels) or a run that diverged, with
            the library's message.
        KeyboardInterrupt
            Ctrl-C: training stops within a minibatch; the estimator keeps
            the model of its last finished epoch (or iteration), or stays
            unfitted when none finished.
        """
        X, y = self._check_X_y(X, y, reset=True)
        self.classes_, codes = self._classes(y)
        return self._fit_codes(X, codes, warm=None, test=test)

    def partial_fit(self, X, y, classes=None):
        """Continues training from the current model (one more run of the
        optimiser: one epoch for 'sgd'); `classes` is required on the first
        call, as in scikit-learn."""
        first = not hasattr(self, "_model")
        X, y = self._check_X_y(X, y, reset=first)
        if first:
            if classes is None:
                raise ValueError("classes must be given on the first call "
                                 "to partial_fit")
            self.classes_ = np.unique(np.asarray(classes))
        codes = self._codes(y)
        saved = self.epochs
        try:
            if self.optimizer == "sgd":
                self.epochs = 1
            return self._fit_codes(X, codes, warm=None if first else self._model)
        finally:
            self.epochs = saved

    def _classes(self, y):
        if HAVE_SKLEARN:
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-dimensional, not of shape {y.shape}")
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes; "
                             f"y holds one class ({classes[0]!r})")
        return classes, codes.astype(np.int32)

    def _fit_codes(self, X, codes, warm, test=None):
        test_set = None
        if test is not None:
            Xt, yt = self._check_X_y(test[0], test[1], reset=False)
            test_set = DataSet(Xt, y=self._codes(yt), class_names=self.classes_)
        try:
            with DataSet(X, y=codes, class_names=self.classes_,
                         feature_names=self._feature_names()) as data:
                self._fit(data, X.shape[0], warm, test_set)
        finally:
            if test_set is not None:
                test_set.close()
        return self

    def _codes(self, y):
        """Indices in classes_ of labels y, every one a known class."""
        known = np.isin(y, self.classes_)
        if not known.all():
            raise ValueError(f"y holds labels not in classes: "
                             f"{np.unique(np.asarray(y)[~known])}")
        return np.searchsorted(self.classes_, y).astype(np.int32)

    def _set_model(self, model):
        super()._set_model(model)
        if not hasattr(self, "classes_"):
            self.classes_ = _classes_from_names(model.class_names(),
                                                model.classes)

    def decision_function(self, X):
        """Raw scores: logits (m, k); with two classes, as scikit-learn
        has it, the score of the second class (m): the difference of the
        logits (the logit of P(classes_[1]))."""
        data, m = self._view(X)
        with data:
            z = self._model.logits(data, m)
        if z.shape[1] == 2:
            return z[:, 1] - z[:, 0]
        return z.ravel() if z.shape[1] == 1 else z

    def predict(self, X):
        """The most probable class of every row (the first wins ties)."""
        data, m = self._view(X)
        with data:
            return self.classes_[self._model.predict(data, m)]

    def predict_proba(self, X):
        """Class probabilities (m, k), in the order of classes_."""
        data, m = self._view(X)
        with data:
            return self._model.predict_proba(data, m)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def _more_tags(self):
        return {"preserves_dtype": []}


class SoftmaxRegression(_Classifier):
    __doc__ = """Softmax (multinomial logistic) regression: P(y | x) =
    softmax(x theta + b).

    The defaults are those of `softreg train` on a tabular file (L-BFGS to
    convergence, C = 1, an intercept, standardised features), which match
    scikit-learn's LogisticRegression. The course's run is
    ``SoftmaxRegression(optimizer='sgd', lr=0.2, epochs=10, batch=100,
    C=None, bias=False, standardize=False)``.
    """ + _Softreg.__doc__.split("\n", 2)[2]

    _model_kind = "softmax"

    def __init__(self, *, optimizer="lbfgs", C=1.0, l2=None, bias=True,
                 standardize="auto", lr=0.2, epochs=10, batch=100,
                 momentum=0.0, shuffle=False, max_iter=1000, tol=None,
                 seed=0, threads=0, early_stop=0, val_split=0.0,
                 class_weight=None, poly=1, verbose=0):
        _store(self, locals())


class LogisticRegression(SoftmaxRegression):
    __doc__ = """Binary logistic regression: P(y = classes_[1] | x) =
    sigmoid(x theta + b). Two classes only (SoftmaxRegression takes more).
    """ + _Softreg.__doc__.split("\n", 2)[2]

    _model_kind = "logistic"

    def _classes(self, y):
        classes, codes = super()._classes(y)
        if len(classes) != 2:
            raise ValueError("LogisticRegression is binary: y holds "
                             f"{len(classes)} classes; use SoftmaxRegression")
        return classes, codes

    def predict_proba(self, X):
        p = super().predict_proba(X).reshape(-1, 1)
        return np.hstack([1 - p, p])

    def _more_tags(self):
        return {"binary_only": True, "preserves_dtype": []}


class MLPClassifier(_Classifier):
    __doc__ = """The course's two-layer network: logits = ReLU(x W1 + b1)
    W2 + b2, softmax cross-entropy, trained by minibatch SGD.

    hidden : int
        Hidden units d. The course's run is ``MLPClassifier(hidden=100,
        lr=0.2, epochs=20, batch=100, C=None, bias=False,
        standardize=False, shuffle=False, momentum=0)``.
    """ + _Softreg.__doc__.split("\n", 2)[2]

    _model_kind = "nn"

    def __init__(self, *, hidden=100, optimizer="sgd", C=None, l2=None,
                 bias=True, standardize="auto", lr=0.1, epochs=50, batch=32,
                 momentum=0.9, shuffle=True, max_iter=1000, tol=None, seed=0,
                 threads=0, early_stop=0, val_split=0.0, class_weight=None,
                 poly=1, verbose=0):
        _store(self, locals())

    def _extra_params(self, params):
        params.hidden = _count("hidden", self.hidden)

    @property
    def coefs_(self):
        """[W1 (n, d), W2 (d, k)] on the standardised inputs."""
        check_is_fitted(self, "_model")
        p = self._model.params()
        return [p["W1"], p["W2"]]

    @property
    def intercepts_(self):
        check_is_fitted(self, "_model")
        p = self._model.params()
        if "b1" not in p:
            return [np.zeros(p["W1"].shape[1], np.float32),
                    np.zeros(p["W2"].shape[1], np.float32)]
        return [p["b1"].ravel(), p["b2"].ravel()]

    coef_ = property(lambda self: _no_linear_coef())
    intercept_ = property(lambda self: _no_linear_coef())


class LinearRegression(RegressorMixin, _Softreg):
    __doc__ = """Linear regression, squared error 1/2 (y - x theta - b)^2,
    solved exactly by default (least squares through LAPACK; ridge with
    C or l2). y may be (m) or (m, t) for t targets.
    """ + _Softreg.__doc__.split("\n", 2)[2]

    _model_kind = "linear"

    def __init__(self, *, optimizer="exact", C=None, l2=None, bias=True,
                 standardize="auto", lr=0.01, epochs=10, batch=100,
                 momentum=0.0, shuffle=False, max_iter=1000, tol=None,
                 seed=0, threads=0, early_stop=0, val_split=0.0, poly=1,
                 verbose=0):
        _store(self, locals())

    class_weight = None

    def fit(self, X, y):
        """Trains on X (m, n) and real targets y (m) or (m, t)."""
        X, y = self._check_X_y(X, y, reset=True, multi_output=True)
        return self._fit_targets(X, y, warm=None)

    def partial_fit(self, X, y):
        """Continues training from the current model (one epoch of 'sgd')."""
        first = not hasattr(self, "_model")
        X, y = self._check_X_y(X, y, reset=first, multi_output=True)
        saved = self.epochs
        try:
            if self.optimizer == "sgd":
                self.epochs = 1
            return self._fit_targets(X, y, warm=None if first else self._model)
        finally:
            self.epochs = saved

    def _fit_targets(self, X, y, warm):
        y = np.asarray(y, dtype=np.float64)
        self._targets_1d = y.ndim == 1
        with DataSet(X, targets=y, feature_names=self._feature_names()) as data:
            return self._fit(data, X.shape[0], warm)

    def predict(self, X):
        """Predicted targets, (m) or (m, t) as y was at fit: the library's
        float32 values widened to float64 (exactly), as scikit-learn's
        regressors return."""
        data, m = self._view(X)
        with data:
            out = self._model.logits(data, m).astype(np.float64)
        return out.ravel() if getattr(self, "_targets_1d", True) and \
            out.shape[1] == 1 else out

    def _more_tags(self):
        return {"multioutput": True, "preserves_dtype": []}

    @property
    def coef_(self):
        coef = super().coef_
        return coef.ravel() if getattr(self, "_targets_1d", True) and \
            coef.shape[0] == 1 else coef

    @property
    def intercept_(self):
        b = super().intercept_
        return float(b[0]) if getattr(self, "_targets_1d", True) and \
            b.shape[0] == 1 else b


_KINDS = {"softmax": SoftmaxRegression, "logistic": LogisticRegression,
          "nn": MLPClassifier, "linear": LinearRegression}


def load(path):
    """A model file (.srm) as the fitted estimator of its kind."""
    model = Model.load(path)
    est = _KINDS[model.kind]()
    est.bias = model.has_bias
    est.standardize = model.scaling() is not None
    if model.kind == "nn":
        est.hidden = model.hidden
    est._set_model(model)
    return est


# ---- helpers ---------------------------------------------------------------

def _count(name, value, zero=False):
    if isinstance(value, (bool, np.bool_)) or int(value) != value or \
            value < (0 if zero else 1):
        raise ValueError(f"{name} must be an integer of at least "
                         f"{0 if zero else 1}, not {value!r}")
    return int(value)


def _store(est, args):
    """Keeps __init__'s arguments as they are (scikit-learn's rule: no
    checks, no conversions until fit)."""
    for name, value in args.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def _no_linear_coef():
    raise AttributeError("the network has coefs_ and intercepts_, "
                         "not coef_ and intercept_")


def _classes_from_names(names, k):
    if names is None:
        return np.arange(k)
    try:
        return np.array([int(v) for v in names])
    except ValueError:
        return np.array(names, dtype=object)


def _model_bytes(model):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.srm")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def _model_from_bytes(blob):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.srm")
        with open(path, "wb") as f:
            f.write(blob)
        return Model.load(path)


def _fallback_check_X(est, X, reset):
    if not is_sparse(X):
        X = np.asarray(X)
        if X.dtype not in _DTYPES:
            X = X.astype(np.float32)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, not of shape {X.shape}")
    if reset:
        est.n_features_in_ = X.shape[1]
    elif X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but "
                         f"{type(est).__name__} is expecting "
                         f"{est.n_features_in_} features as input")
    return X
