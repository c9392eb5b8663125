"""A trained model (sr_model) as a Python object: its parameters as NumPy
arrays, its predictions, and the .srm model files the command reads and
writes."""
import ctypes
import os

import numpy as np

from . import _lib

KIND_NAMES = {v: k for k, v in _lib.MODEL.items()}


class Model:
    """Owns one sr_model handle."""

    def __init__(self, handle):
        self.handle = handle

    @classmethod
    def load(cls, path):
        handle = ctypes.c_void_p()
        err = _lib.Error()
        _lib.check(_lib.lib.sr_model_load(os.fsencode(path), ctypes.byref(handle),
                                          ctypes.byref(err)), err)
        return cls(handle)

    def save(self, path):
        err = _lib.Error()
        _lib.check(_lib.lib.sr_model_save(self.handle, os.fsencode(path),
                                          ctypes.byref(err)), err)

    def __del__(self):
        if getattr(self, "handle", None):
            _lib.lib.sr_model_free(self.handle)
            self.handle = None

    @property
    def kind(self):
        return KIND_NAMES[_lib.lib.sr_model_kind_of(self.handle)]

    @property
    def features(self):
        return _lib.lib.sr_model_features(self.handle)

    @property
    def classes(self):
        return _lib.lib.sr_model_classes(self.handle)

    @property
    def outputs(self):
        return _lib.lib.sr_model_outputs(self.handle)

    @property
    def hidden(self):
        return _lib.lib.sr_model_hidden(self.handle)

    @property
    def has_bias(self):
        return bool(_lib.lib.sr_model_has_bias(self.handle))

    def class_names(self):
        names = [_lib.lib.sr_model_class_name(self.handle, c)
                 for c in range(self.classes)]
        return None if any(v is None for v in names) else \
            [v.decode("utf-8") for v in names]

    def feature_names(self):
        names = [_lib.lib.sr_model_feature_name(self.handle, j)
                 for j in range(self.features)]
        return None if any(v is None for v in names) else \
            [v.decode("utf-8") for v in names]

    def params(self):
        """{name: array} of the parameter blocks, copied."""
        out = {}
        for b in range(_lib.lib.sr_model_param_count(self.handle)):
            name = ctypes.c_char_p()
            rows, cols = _lib.size_t(), _lib.size_t()
            ptr = _lib.lib.sr_model_param(self.handle, b, ctypes.byref(name),
                                          ctypes.byref(rows), ctypes.byref(cols))
            shape = (rows.value, cols.value)
            block = np.ctypeslib.as_array(ptr, shape=(shape[0] * shape[1],))
            out[name.value.decode()] = block.reshape(shape).copy()
        return out

    def scaling(self):
        """(mean, inv_std) of a standardised model's inputs, or None."""
        if not _lib.lib.sr_model_is_standardized(self.handle):
            return None
        n = self.features * _lib.lib.sr_model_poly(self.handle)
        mean = np.ctypeslib.as_array(_lib.lib.sr_model_mean(self.handle), (n,))
        inv = np.ctypeslib.as_array(_lib.lib.sr_model_inv_std(self.handle), (n,))
        return mean.copy(), inv.copy()

    def _call(self, fn, data, out):
        err = _lib.Error()
        _lib.check(fn(self.handle, data.handle, out, ctypes.byref(err)), err)

    def logits(self, data, m):
        out = np.empty((m, self.outputs), dtype=np.float32)
        self._call(_lib.lib.sr_model_logits, data,
                   out.ctypes.data_as(_lib.c_float_p))
        return out

    def predict(self, data, m):
        out = np.empty(m, dtype=np.int32)
        self._call(_lib.lib.sr_model_predict, data,
                   out.ctypes.data_as(_lib.c_int32_p))
        return out

    def predict_proba(self, data, m):
        k = 1 if self.kind == "logistic" else self.outputs
        out = np.empty((m, k), dtype=np.float32)
        self._call(_lib.lib.sr_model_predict_proba, data,
                   out.ctypes.data_as(_lib.c_float_p))
        return out

    def evaluate(self, data):
        loss, error = ctypes.c_double(), ctypes.c_double()
        err = _lib.Error()
        _lib.check(_lib.lib.sr_model_evaluate(self.handle, data.handle,
                                              ctypes.byref(loss),
                                              ctypes.byref(error),
                                              ctypes.byref(err)), err)
        return loss.value, error.value
