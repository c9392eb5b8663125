"""NumPy and SciPy arrays as the library's data sets, without copying
where the layout allows.

The library reads rows: float32 features in C order (row-major) and CSR
matrices with float32 values are handed over as they are. Everything else
is converted once, into a private array this module keeps alive beside
the data set: float64 and integer arrays (the library computes in
float32), Fortran-ordered or strided arrays (rows must be contiguous),
CSR with int32 row pointers (the library's are size_t; the column indices
and values are still shared), and unsorted or duplicate CSR indices.
uint8 arrays are images: pixel v is worth v / 255, as in the course's
parse_mnist; mostly-zero images get their non-zero pixels listed (a third
of the memory, faster products), as the command does with IDX files.
"""
import ctypes

import numpy as np

from . import _lib

try:
    import scipy.sparse as _sparse
except ImportError:  # SciPy is optional
    _sparse = None


def is_sparse(X):
    return _sparse is not None and _sparse.issparse(X)


class DataSet:
    """An sr_dataset over arrays this object keeps alive.

    `features_address` is the address of the feature buffer the library
    reads (the caller's own when no copy was needed)."""

    def __init__(self, X, y=None, targets=None, class_names=None,
                 feature_names=None):
        self._keep = []
        self.handle = ctypes.c_void_p()
        err = _lib.Error()
        y_ptr, t_ptr, t = self._labels(y, targets)
        self.sparse = is_sparse(X)
        if self.sparse:
            st = self._csr(X, y_ptr, t_ptr, t, err)
        else:
            X = np.asarray(X)
            if X.ndim != 2:
                raise ValueError(
                    f"X must be 2-dimensional (examples, features), not of "
                    f"shape {X.shape}")
            if X.dtype == np.uint8:
                X = np.ascontiguousarray(X)
                self._keep.append(X)
                self.features_address = X.ctypes.data
                st = _lib.lib.sr_dataset_view_pixels(
                    X.ctypes.data_as(_lib.c_uint8_p), X.shape[0], X.shape[1],
                    y_ptr, t_ptr, t, ctypes.byref(self.handle), ctypes.byref(err))
            else:
                if X.dtype.kind not in "fiub":
                    raise ValueError(
                        f"X must hold numbers, not {X.dtype} values")
                X = np.ascontiguousarray(X, dtype=np.float32)
                self._keep.append(X)
                self.features_address = X.ctypes.data
                st = _lib.lib.sr_dataset_view_dense(
                    X.ctypes.data_as(_lib.c_float_p), X.shape[0], X.shape[1],
                    y_ptr, t_ptr, t, ctypes.byref(self.handle), ctypes.byref(err))
        _lib.check(st, err)
        if class_names is not None:
            self._names(_lib.lib.sr_dataset_set_class_names, class_names)
        if feature_names is not None:
            self._names(_lib.lib.sr_dataset_set_feature_names, feature_names)

    def _labels(self, y, targets):
        if y is not None:
            y = np.ascontiguousarray(y, dtype=np.int32)
            self._keep.append(y)
            return y.ctypes.data_as(_lib.c_int32_p), None, 0
        if targets is not None:
            targets = np.ascontiguousarray(targets, dtype=np.float32)
            if targets.ndim == 1:
                targets = targets.reshape(-1, 1)
            self._keep.append(targets)
            return None, targets.ctypes.data_as(_lib.c_float_p), targets.shape[1]
        return None, None, 0

    def _csr(self, X, y_ptr, t_ptr, t, err):
        X = X.tocsr() if X.format != "csr" else X
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()  # sorts the indices too
        data = np.ascontiguousarray(X.data, dtype=np.float32)
        indices = np.ascontiguousarray(X.indices, dtype=np.uint32) \
            if X.indices.dtype != np.int32 else X.indices.view(np.uint32)
        indptr = X.indptr.view(np.uintp) if X.indptr.dtype.itemsize == \
            np.dtype(np.uintp).itemsize else X.indptr.astype(np.uintp)
        self._keep += [data, indices, indptr]
        self.features_address = data.ctypes.data
        m, n = X.shape
        return _lib.lib.sr_dataset_view_csr(
            indptr.ctypes.data_as(ctypes.POINTER(_lib.size_t)),
            indices.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)),
            data.ctypes.data_as(_lib.c_float_p), m, n, y_ptr, t_ptr, t,
            ctypes.byref(self.handle), ctypes.byref(err))

    def _names(self, setter, names):
        encoded = [str(v).encode("utf-8") for v in names]
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        err = _lib.Error()
        _lib.check(setter(self.handle, array, len(encoded), ctypes.byref(err)),
                   err)

    def close(self):
        if self.handle:
            _lib.lib.sr_dataset_free(self.handle)
            self.handle = ctypes.c_void_p()
        self._keep = []

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
