"""The C library, loaded through ctypes, and the mirrors of its structs.

ctypes rather than cffi: it is part of Python itself, so the package needs
nothing beyond NumPy, and it releases the GIL around every call into the
library, so training runs while other Python threads go on. The structs
below mirror include/softreg.h field for field; tests/test_abi.py compiles
the header and checks every size and offset.
"""
import ctypes
import ctypes.util
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    env = os.environ.get("SOFTREG_LIB")
    if env:
        yield env
    # Installed with the package (make python, pip install ./python).
    yield os.path.join(_HERE, "libsoftreg.so.0")
    # In place, from the repository's build tree.
    yield os.path.join(_HERE, os.pardir, os.pardir, "build", "libsoftreg.so")
    found = ctypes.util.find_library("softreg")
    if found:
        yield found


def _load():
    # OpenMP's threads sleep at once between parallel regions instead of
    # spinning for milliseconds (libgomp's default), which takes a core
    # from the thread that goes on alone: the command does the same. It is
    # read when libgomp is loaded, that is with the library, just below.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            tried.append(f"{path} ({exc})")
    raise ImportError(
        "softreg: libsoftreg.so not found (tried: " + ", ".join(tried) +
        "); build it with `make` in the repository, or set SOFTREG_LIB")


lib, path = _load()

size_t = ctypes.c_size_t
c_float_p = ctypes.POINTER(ctypes.c_float)
c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_uint8_p = ctypes.POINTER(ctypes.c_uint8)


class Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 512)]


class TrainOutcome(ctypes.Structure):
    _fields_ = [("converged", ctypes.c_int), ("iterations", size_t),
                ("kept_epoch", size_t), ("reason", ctypes.c_char * 200)]


class TrainParams(ctypes.Structure):
    _fields_ = [
        ("model", ctypes.c_int), ("hidden", size_t), ("epochs", size_t),
        ("lr", ctypes.c_double), ("batch", size_t), ("init", ctypes.c_int),
        ("seed", ctypes.c_uint32), ("classes", size_t), ("threads", size_t),
        ("evaluate", ctypes.c_int), ("bias", ctypes.c_int),
        ("l2", ctypes.c_double), ("optimizer", ctypes.c_int),
        ("momentum", ctypes.c_double), ("shuffle", ctypes.c_int),
        ("max_iter", size_t), ("val_split", ctypes.c_double),
        ("early_stop", size_t), ("poly", ctypes.c_uint),
        ("standardize", ctypes.c_int), ("warm_start", ctypes.c_void_p),
        ("checkpoint_path", ctypes.c_char_p), ("resume_path", ctypes.c_char_p),
        ("interrupt", ctypes.POINTER(ctypes.c_int)),
        ("lbfgs_memory", size_t), ("tol", ctypes.c_double),
        ("outcome", ctypes.POINTER(TrainOutcome)),
        ("keep_on_interrupt", ctypes.c_int), ("val_tail", ctypes.c_int),
        ("class_weight", ctypes.c_int),
        ("progress", ctypes.c_void_p), ("progress_user", ctypes.c_void_p),
    ]


class EpochStats(ctypes.Structure):
    _fields_ = [("epoch", size_t), ("train_loss", ctypes.c_double),
                ("train_err", ctypes.c_double), ("test_loss", ctypes.c_double),
                ("test_err", ctypes.c_double), ("seconds", ctypes.c_double),
                ("val_loss", ctypes.c_double), ("val_err", ctypes.c_double)]


EPOCH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(EpochStats),
                                  ctypes.c_void_p)

# Enum values of include/softreg.h.
MODEL = {"softmax": 0, "nn": 1, "linear": 2, "logistic": 3}
OPTIMIZER = {"sgd": 0, "gd": 1, "lbfgs": 2, "exact": 3, "newton": 4}
INIT = {"default": 0, "zeros": 1, "numpy": 2}
CLASS_WEIGHT = {None: 0, "balanced": 1}
SR_ERR_IO = 2
SR_ERR_NOMEM = 1
SR_ERR_INTERRUPTED = 8

_P = ctypes.c_void_p
_E = ctypes.POINTER(Error)
_PP = ctypes.POINTER(ctypes.c_void_p)
_SIGNATURES = {
    "sr_version": (ctypes.c_char_p, []),
    "sr_status_str": (ctypes.c_char_p, [ctypes.c_int]),
    "sr_softmax_loss": (ctypes.c_int, [c_float_p, c_uint8_p, size_t, size_t,
                                       ctypes.POINTER(ctypes.c_double), _E]),
    "sr_softmax_regression_epoch": (ctypes.c_int, [
        c_float_p, c_uint8_p, c_float_p, size_t, size_t, size_t,
        ctypes.c_float, size_t, _E]),
    "sr_nn_epoch": (ctypes.c_int, [
        c_float_p, c_uint8_p, c_float_p, c_float_p, size_t, size_t, size_t,
        size_t, ctypes.c_float, size_t, _E]),
    "sr_dataset_load_idx": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p,
                                           _PP, _E]),
    "sr_dataset_load_mnist": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p,
                                             _PP, _E]),
    "sr_dataset_free": (None, [_P]),
    "sr_dataset_rows": (size_t, [_P]),
    "sr_dataset_features": (size_t, [_P]),
    "sr_dataset_copy_features": (ctypes.c_int, [_P, size_t, size_t,
                                                c_float_p, _E]),
    "sr_dataset_copy_labels": (ctypes.c_int, [_P, size_t, size_t,
                                              c_int32_p, _E]),
    "sr_dataset_view_dense": (ctypes.c_int, [c_float_p, size_t, size_t,
                                             c_int32_p, c_float_p, size_t,
                                             _PP, _E]),
    "sr_dataset_view_pixels": (ctypes.c_int, [c_uint8_p, size_t, size_t,
                                              c_int32_p, c_float_p, size_t,
                                              _PP, _E]),
    "sr_dataset_view_csr": (ctypes.c_int, [
        ctypes.POINTER(size_t), ctypes.POINTER(ctypes.c_uint32), c_float_p,
        size_t, size_t, c_int32_p, c_float_p, size_t, _PP, _E]),
    "sr_dataset_set_class_names": (ctypes.c_int, [
        _P, ctypes.POINTER(ctypes.c_char_p), size_t, _E]),
    "sr_dataset_set_feature_names": (ctypes.c_int, [
        _P, ctypes.POINTER(ctypes.c_char_p), size_t, _E]),
    "sr_train_params_default": (TrainParams, []),
    "sr_train_params_check": (ctypes.c_int, [ctypes.POINTER(TrainParams), _E]),
    "sr_train": (ctypes.c_int, [_P, _P, ctypes.POINTER(TrainParams),
                                EPOCH_CALLBACK, _P, _PP, _E]),
    "sr_model_free": (None, [_P]),
    "sr_model_kind_of": (ctypes.c_int, [_P]),
    "sr_model_features": (size_t, [_P]),
    "sr_model_classes": (size_t, [_P]),
    "sr_model_outputs": (size_t, [_P]),
    "sr_model_hidden": (size_t, [_P]),
    "sr_model_class_name": (ctypes.c_char_p, [_P, size_t]),
    "sr_model_feature_name": (ctypes.c_char_p, [_P, size_t]),
    "sr_model_has_bias": (ctypes.c_int, [_P]),
    "sr_model_poly": (ctypes.c_uint, [_P]),
    "sr_model_is_standardized": (ctypes.c_int, [_P]),
    "sr_model_mean": (c_float_p, [_P]),
    "sr_model_inv_std": (c_float_p, [_P]),
    "sr_model_param_count": (size_t, [_P]),
    "sr_model_param": (c_float_p, [_P, size_t,
                                   ctypes.POINTER(ctypes.c_char_p),
                                   ctypes.POINTER(size_t),
                                   ctypes.POINTER(size_t)]),
    "sr_model_evaluate": (ctypes.c_int, [_P, _P, ctypes.POINTER(ctypes.c_double),
                                         ctypes.POINTER(ctypes.c_double), _E]),
    "sr_model_logits": (ctypes.c_int, [_P, _P, c_float_p, _E]),
    "sr_model_predict": (ctypes.c_int, [_P, _P, c_int32_p, _E]),
    "sr_model_predict_proba": (ctypes.c_int, [_P, _P, c_float_p, _E]),
    "sr_model_save": (ctypes.c_int, [_P, ctypes.c_char_p, _E]),
    "sr_model_load": (ctypes.c_int, [ctypes.c_char_p, _PP, _E]),
    "sr_model_set_data_crc": (None, [_P, _P]),
}

for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args


class SoftregError(Exception):
    """Mixin of every exception raised from a status the library returned."""


class SoftregValueError(SoftregError, ValueError):
    pass


class SoftregOSError(SoftregError, OSError):
    pass


class SoftregMemoryError(SoftregError, MemoryError):
    pass


def check(status, err):
    """Raises the Python exception for a failed call, with its message."""
    if status == 0:
        return
    message = err.message.decode("utf-8", "replace")
    if status == SR_ERR_INTERRUPTED:
        raise KeyboardInterrupt(message)
    if status == SR_ERR_IO:
        raise SoftregOSError(message)
    if status == SR_ERR_NOMEM:
        raise SoftregMemoryError(message)
    raise SoftregValueError(message)


def version():
    return lib.sr_version().decode()
