#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets, tests/fuzz/corpus/<target>/:
a few tiny valid files of each format and edge cases. Run from anywhere
with a Python that has NumPy (Debian: /usr/bin/python3):

    /usr/bin/python3 tests/fuzz/make_corpus.py

Model files are written here by the byte layout of docs/model-format.md;
fuzz_model re-saves every model that loads and checks the library writes the
same bytes, so `make fuzz-regress` proves these match the library's writer.
"""
import gzip
import io
import os
import shutil
import struct
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- IDX --------------------------------------------------------------------

def idx_images(count, rows, cols, pixels=None, magic=0x803):
    body = bytes(pixels) if pixels is not None else bytes(
        (i * 37 + 11) & 0xFF if i % 3 else 0 for i in range(count * rows * cols))
    return struct.pack(">IIII", magic, count, rows, cols) + body


def idx_labels(labels, magic=0x801, count=None):
    return struct.pack(">II", magic, len(labels) if count is None else count) + bytes(labels)


def idx():
    put("fuzz_idx_images", "small", idx_images(3, 2, 2))
    put("fuzz_idx_images", "one_pixel", idx_images(1, 1, 1, [255]))
    put("fuzz_idx_images", "all_zero", idx_images(2, 4, 3, [0] * 24))
    put("fuzz_idx_images", "mnist_shape", idx_images(1, 28, 28))
    # more than 65536 pixels an image: float CSR instead of pixel lists
    put("fuzz_idx_images", "wide", idx_images(1, 1, 65537))
    put("fuzz_idx_images", "truncated", idx_images(3, 2, 2)[:-1])
    put("fuzz_idx_images", "trailing", idx_images(3, 2, 2) + b"\0")
    put("fuzz_idx_images", "labels_magic", idx_labels([1, 2, 3]))
    put("fuzz_idx_images", "overflow", struct.pack(">IIII", 0x803, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF))
    put("fuzz_idx_images", "huge", struct.pack(">IIII", 0x803, 0xFFFFFFFF, 0xFFFF, 1))
    put("fuzz_idx_images", "header_only", struct.pack(">IIII", 0x803, 0, 28, 28))
    put("fuzz_idx_labels", "small", idx_labels([0, 7, 3]))
    put("fuzz_idx_labels", "all_values", idx_labels(range(256)))
    put("fuzz_idx_labels", "zero_count", idx_labels([]))
    put("fuzz_idx_labels", "truncated", idx_labels([1, 2, 3], count=4))
    put("fuzz_idx_labels", "images_magic", idx_images(1, 1, 2))
    put("fuzz_idx_labels", "short", b"\0\0\x08")


# ---- gzip -------------------------------------------------------------------

def gz(data, level=9):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=level, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def gzip_corpus():
    t = "fuzz_gzip"
    put(t, "idx", gz(idx_images(3, 2, 2)))
    put(t, "text", gz(b"1,2,3\n4,5,6\n" * 20))
    put(t, "empty", gz(b""))
    put(t, "stored", gz(bytes(range(64)), level=0))
    put(t, "two_members", gz(b"first\n") + gz(b"second\n"))
    put(t, "cut_off", gz(b"hello world " * 10)[:-6])
    put(t, "bad_crc", gz(b"abc")[:-8] + b"\0\0\0\0\3\0\0\0")
    put(t, "trailing_zeros", gz(b"abc") + b"\0\0\0\0")
    put(t, "magic_only", b"\x1f\x8b")
    put(t, "zeros_1k", gz(b"\0" * 1024))


# ---- CSV ---------------------------------------------------------------------
# fuzz_csv's first byte picks the options: b % 5 the delimiter (detect , ; tab
# space), b / 5 % 3 the header (auto yes no), b / 15 bit 0 regression, bits
# 1-2 the label column (last, "0", "label", "1"), bit 3 reference classes.

def csv():
    t = "fuzz_csv"
    auto = b"\x00"
    put(t, "iris", auto + b"sepal_length,sepal_width,species\n5.1,3.5,setosa\n4.9,3.0,setosa\n6.3,3.3,virginica\n")
    put(t, "numbers", auto + b"1,2,0\n3,4,1\n5,6,2\n")
    put(t, "semicolon", auto + b"a;b;label\n1.5;2;1\n-3e2;4;0\n")
    put(t, "tabs", b"\x03" + b"x\ty\n1\t0\n2\t1\n")
    put(t, "spaces", b"\x04" + b"  1 2   3\n4  5 6 \n")
    put(t, "quoted", auto + b'"a","b,c","label"\n"1","2","x ""y"""\n3,4,"multi\nline"\n')
    put(t, "crlf_bom", auto + b"\xef\xbb\xbfa,b\r\n1,2\r\n3,4\r\n")
    put(t, "regression", bytes([15]) + b"x1,x2,y\n0.5,1,2.25\n1,2,-3\n")
    put(t, "label_first", bytes([15 * 2]) + b"label,x\n1,2\n0,3\n")
    put(t, "label_named", bytes([15 * 4]) + b"x,label,z\n1,a,2\n3,b,4\n")
    put(t, "reference", bytes([15 * 8]) + b"x,y\n1,0\n2,setosa\n3,2\n")
    put(t, "ragged", auto + b"a,b,c\n1,2,3\n4,5\n")
    put(t, "nan", auto + b"1,nan,0\n2,3,1\n")
    put(t, "inf", auto + b"1,-inf,0\n")
    put(t, "big", auto + b"1,1e39,0\n")
    put(t, "not_number", auto + b"a,b\n1,x2\n")
    put(t, "header_only", b"\x05" + b"a,b,c\n")
    put(t, "empty_label", auto + b"1,2,\n")
    put(t, "open_quote", auto + b'1,"2,3\n')
    put(t, "nul", auto + b"1,2\x00,3\n")
    put(t, "blank_lines", b"\x0a" + b"\n\n1,2\n\n3,4\n\n")


# ---- LIBSVM ------------------------------------------------------------------
# fuzz_libsvm's first byte: bit 0 regression, bit 1 reference classes
# (-1 1 2 7), bits 2-3 expected features (none, 1, 10, 1000).

def libsvm():
    t = "fuzz_libsvm"
    put(t, "binary", b"\x00" + b"+1 1:0.5 3:1\n-1 2:-1.25 4:2 # comment\n+1 1:1\n")
    put(t, "multiclass", b"\x00" + b"7 1:1 2:2\n2 3:3\n7\n1 10:0.1\n")
    put(t, "regression", b"\x01" + b"2.5 1:1 2:0\n-1e3 5:3\n")
    put(t, "qid", b"\x00" + b"1 qid:3 1:1 2:2\n0 qid:3 2:1\n")
    put(t, "reference", b"\x02" + b"-1 1:1\n7 2:1\n")
    put(t, "features", bytes([8]) + b"1 1:1 10:2\n0 3:1\n")
    put(t, "crlf_tabs", b"\x00" + b"1\t1:1\t2:2\r\n0 1:3\r\n")
    put(t, "zero_index", b"\x00" + b"1 0:1\n")
    put(t, "decreasing", b"\x00" + b"1 3:1 2:1\n")
    put(t, "duplicate", b"\x00" + b"1 2:1 2:3\n")
    put(t, "huge_index", b"\x00" + b"1 4294967296:1\n")
    put(t, "nan", b"\x00" + b"1 1:nan\n")
    put(t, "comments", b"\x00" + b"# only\n\n   # comments\n")
    put(t, "bad_label", b"\x00" + b"x 1:1\n")


# ---- npy ---------------------------------------------------------------------

def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr)
    else:
        np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()


def npy():
    t = "fuzz_npy"
    put(t, "f4_2d", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3) / 4))
    put(t, "f8_1d", npy_bytes(np.array([0.5, -1e300, np.nan, np.inf], dtype="<f8")))
    put(t, "be_i4", npy_bytes(np.array([[1, -2], [3, 2**31 - 1]], dtype=">i4")))
    put(t, "u1", npy_bytes(np.array([0, 7, 255], dtype="|u1")))
    put(t, "i1", npy_bytes(np.array([-128, 127], dtype="|i1")))
    put(t, "u2", npy_bytes(np.array([1, 65535], dtype="<u2")))
    put(t, "i2", npy_bytes(np.array([-3], dtype=">i2")))
    put(t, "u4", npy_bytes(np.array([4000000000], dtype="<u4")))
    put(t, "u8", npy_bytes(np.array([2**64 - 1, 3], dtype="<u8")))
    put(t, "i8", npy_bytes(np.array([-(2**63), 5], dtype="<i8")))
    put(t, "f4_labels", npy_bytes(np.array([0.0, 1.5, 3.0], dtype="<f4")))
    put(t, "empty", npy_bytes(np.zeros((0, 3), dtype="<f4")))
    put(t, "v2", npy_bytes(np.arange(4, dtype="<f8"), version=(2, 0)))
    put(t, "v3", npy_bytes(np.arange(2, dtype="<i8"), version=(3, 0)))
    put(t, "fortran", npy_bytes(np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))))
    put(t, "scalar", npy_bytes(np.float64(1.0)))
    put(t, "3d", npy_bytes(np.zeros((1, 2, 2), dtype="|u1")))
    put(t, "bool", npy_bytes(np.array([True, False])))
    put(t, "f2", npy_bytes(np.array([1.0], dtype="<f2")))
    put(t, "truncated", npy_bytes(np.arange(4, dtype="<f4"))[:-3])
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    put(t, "overflow", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
    long_hdr = b"{'descr': '<i8', 'fortran_order': False, 'shape': (2L,), }"
    long_hdr += b" " * (63 - (10 + len(long_hdr)) % 64) + b"\n"
    put(t, "py2_long", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(long_hdr)) + long_hdr
        + struct.pack("<qq", 1, 2))


# ---- model files ---------------------------------------------------------------

def model(kind, n, k, d, bias, params, n_raw=None, poly=1, mean=None,
          inv_std=None, names=None, version=2, columns=None, label=None,
          label_col=None, options=None, crc=None):
    """params: list of (name, rows, cols, floats); version 2 ends with the
    column names."""
    out = b"\x89SRM\r\n\x1a\n"
    out += struct.pack("<IIQQQIQII", version, kind, n, k, d, bias,
                       n if n_raw is None else n_raw, poly, 1 if mean else 0)
    if mean:
        out += struct.pack("<%df" % n, *mean) + struct.pack("<%df" % n, *inv_std)
    out += struct.pack("<Q", len(names) if names else 0)
    for nm in names or []:
        out += struct.pack("<I", len(nm)) + nm
    out += struct.pack("<I", len(params))
    for name, rows, cols, vals in params:
        out += struct.pack("<I", len(name)) + name + struct.pack("<QQ", rows, cols)
        out += struct.pack("<%df" % len(vals), *vals)
    if version >= 2:
        out += struct.pack("<Q", len(columns) if columns else 0)
        for nm in columns or []:
            out += struct.pack("<I", len(nm)) + nm
        out += struct.pack("<I", len(label or b"")) + (label or b"")
        out += struct.pack("<Q", 2**64 - 1 if label_col is None else label_col)
        out += struct.pack("<I", len(options or b"")) + (options or b"")
        out += struct.pack("<II", crc or 0, 0 if crc is None else 1)
    return out + struct.pack("<I", zlib.crc32(out) & 0xFFFFFFFF)


def models():
    t = "fuzz_model"
    softmax = model(0, 2, 3, 0, 0, [(b"theta", 2, 3, [0.5, -1, 0, 2, 1e-3, -0.0])])
    put(t, "softmax", softmax)
    put(t, "softmax_bias_names", model(0, 2, 2, 0, 1, [
        (b"theta", 2, 2, [1, 2, 3, 4]), (b"b", 1, 2, [0.25, -0.25])],
        names=[b"cat", b"dog"]))
    put(t, "nn", model(1, 2, 2, 3, 0, [
        (b"W1", 2, 3, [0.1 * i for i in range(6)]), (b"W2", 3, 2, [-0.1 * i for i in range(6)])]))
    put(t, "nn_bias", model(1, 1, 2, 1, 1, [
        (b"W1", 1, 1, [1]), (b"b1", 1, 1, [0]), (b"W2", 1, 2, [1, -1]), (b"b2", 1, 2, [0, 0])]))
    put(t, "linear_poly_std", model(2, 4, 1, 0, 1, [
        (b"theta", 4, 1, [1, 2, 3, 4]), (b"b", 1, 1, [0.5])], n_raw=2, poly=2,
        mean=[0, 1, 2, 3], inv_std=[1, 0.5, 0.25, 2]))
    put(t, "logistic_names", model(3, 1, 1, 0, 0, [(b"theta", 1, 1, [2.0])],
                                   names=[b"no", b"yes"]))
    put(t, "truncated", softmax[:-7])
    changed = bytearray(softmax)
    changed[70] ^= 0x10
    put(t, "changed_byte", bytes(changed))
    put(t, "newer", model(0, 2, 3, 0, 0, [(b"theta", 2, 3, [0] * 6)], version=3))
    put(t, "version1", model(0, 2, 3, 0, 0, [(b"theta", 2, 3, [0] * 6)],
                             version=1))
    put(t, "columns", model(0, 2, 2, 0, 1, [
        (b"theta", 2, 2, [1, 2, 3, 4]), (b"b", 1, 2, [0.25, -0.25])],
        names=[b"cat", b"dog"], columns=[b"height", b""], label=b"animal",
        label_col=1, options=b"model=softmax bias=1", crc=0x12345678))
    put(t, "huge_block", model(0, 2, 3, 0, 0, [(b"theta", 2**62, 2**62, [])]))
    put(t, "magic_only", b"\x89SRM\r\n\x1a\n")


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    idx()
    gzip_corpus()
    csv()
    libsvm()
    npy()
    models()
    total = sum(os.path.getsize(os.path.join(dp, f))
                for dp, _, fs in os.walk(CORPUS) for f in fs)
    print("corpus: %d bytes" % total)


if __name__ == "__main__":
    main()
