#!/usr/bin/python3
"""Writes the catalogue of bad inputs listed in tests/bad/MANIFEST. Run with
a Python that has NumPy (Debian: /usr/bin/python3):

    /usr/bin/python3 tests/bad/make_bad.py

The files are committed; the tests never need Python. Model files follow
docs/model-format.md byte by byte (tests/fuzz checks the library writes the
same bytes for the valid ones).
"""
import gzip
import io
import os
import struct
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def put(path, data):
    full = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(full, "wb") as f:
        f.write(data)


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


# ---- IDX ----------------------------------------------------------------------

def images(count, rows, cols, magic=0x803, body=None):
    if body is None:
        body = bytes((i * 37 + 11) & 0xFF for i in range(count * rows * cols))
    return struct.pack(">IIII", magic, count, rows, cols) + body


def labels(values, magic=0x801, count=None):
    return struct.pack(">II", magic, len(values) if count is None else count) + bytes(values)


def idx():
    ok_images = images(3, 2, 2)
    put("idx/ok-images.idx", ok_images)
    put("idx/ok-labels.idx", labels([0, 7, 3]))
    put("idx/empty-images.idx", b"")
    put("idx/empty-labels.idx", b"")
    put("idx/truncated-header-images.idx", ok_images[:10])
    put("idx/truncated-header-labels.idx", labels([0, 7, 3])[:6])
    put("idx/truncated-body-images.idx", ok_images[:-1])
    put("idx/truncated-body-labels.idx", labels([0, 7, 3])[:-1])
    put("idx/trailing-images.idx", ok_images + b"\0\0")
    put("idx/wrong-magic-images.idx", images(3, 2, 2, magic=0x0D03))
    put("idx/wrong-magic-labels.idx", labels([0, 7, 3], magic=0x0901))
    put("idx/labels-as-images.idx", labels([0, 7, 3]))
    put("idx/zero-count-images.idx", images(0, 2, 2))
    put("idx/zero-count-labels.idx", labels([]))
    # 2^32-1 images of 2^32-1 x 2^32-1 pixels: the product overflows 64 bits.
    put("idx/overflow-images.idx",
        struct.pack(">IIII", 0x803, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF))
    # 2^32-1 images of 65535 x 65535: fits in size_t (18 EB), no machine has it.
    put("idx/huge-images.idx", struct.pack(">IIII", 0x803, 0xFFFFFFFF, 0xFFFF, 0xFFFF))
    put("idx/huge-labels.idx", struct.pack(">II", 0x801, 0xFFFFFFFF))
    put("idx/count-mismatch-images.idx", images(4, 2, 2))
    put("idx/label-beyond-classes-labels.idx", labels([0, 9, 3]))


def gzip_files():
    ok = gz(images(3, 2, 2))
    put("gz/ok-images.idx.gz", ok)
    put("gz/cut-off-images.idx.gz", ok[: len(ok) // 2])
    put("gz/cut-off-trailer-images.idx.gz", ok[:-4])
    put("gz/corrupt-images.idx.gz", ok[:10] + b"\xff" * 20)
    bad_crc = bytearray(ok)
    bad_crc[-8] ^= 0xFF
    put("gz/bad-crc-images.idx.gz", bytes(bad_crc))
    put("gz/not-gzip-images.idx.gz", b"this is plain text, not gzip\n")
    put("gz/magic-only-images.idx.gz", b"\x1f\x8b")
    rows = b"".join(b"%d,%d,%d\n" % (i, i * i, i % 3) for i in range(40))
    csv_gz = gz(b"a,b,label\n" + rows)
    put("gz/ok.csv.gz", csv_gz)
    put("gz/cut-off.csv.gz", csv_gz[: len(csv_gz) // 2])


# ---- CSV ----------------------------------------------------------------------

def csv():
    put("csv/ok.csv", "sepal,petal,species\n5.1,1.4,setosa\n6.3,6.0,virginica\n")
    put("csv/empty.csv", "")
    put("csv/blank.csv", "\n  \n\r\n")
    put("csv/header-only.csv", "sepal,petal,species\n")
    put("csv/ragged-short.csv", "a,b,label\n1,2,0\n3,1\n")
    put("csv/ragged-long.csv", "1,2,0\n3,4,1,5\n")
    put("csv/not-number.csv", "a,b,label\n1,2,0\n3,abc,1\n")
    put("csv/empty-field.csv", "a,b,label\n1,,0\n")
    put("csv/nan.csv", "a,b,label\n1,nan,0\n")
    put("csv/inf.csv", "a,b,label\n1,inf,0\n")
    put("csv/neg-inf.csv", "a,b,label\n-Infinity,1,0\n")
    put("csv/out-of-range.csv", "a,b,label\n1e39,1,0\n")
    put("csv/overflow.csv", "a,b,label\n1e999,1,0\n")
    put("csv/empty-label.csv", "a,b,label\n1,2,\n")
    put("csv/no-label-column.csv", "sepal,petal\n5.1,1.4\n6.3,6.0\n")
    put("csv/unclosed-quote.csv", 'a,b,label\n1,"2,0\n')
    put("csv/nul.csv", b"a,b,label\n1,2\x00,0\n")
    put("csv/regression-nan.csv", "x,y\n1,nan\n")


# ---- LIBSVM -------------------------------------------------------------------

def libsvm():
    put("libsvm/ok.svm", "+1 1:0.5 3:1\n-1 2:-1.25 # comment\n")
    put("libsvm/empty.svm", "")
    put("libsvm/comments-only.svm", "# nothing\n\n")
    put("libsvm/index-zero.svm", "+1 0:1 2:1\n")
    put("libsvm/negative-index.svm", "+1 -3:1\n")
    put("libsvm/decreasing.svm", "+1 1:1\n-1 3:1 2:1\n")
    put("libsvm/duplicate.svm", "+1 2:1 2:5\n")
    put("libsvm/huge-index.svm", "+1 4294967296:1\n")
    put("libsvm/huge-index-int64.svm", "+1 99999999999999999999:1\n")
    put("libsvm/missing-colon.svm", "+1 1:1 2\n")
    put("libsvm/bad-value.svm", "+1 1:x\n")
    put("libsvm/nan-value.svm", "+1 1:nan\n")
    put("libsvm/inf-value.svm", "+1 1:-inf\n")
    put("libsvm/bad-label.svm", "yes 1:1\n")
    put("libsvm/nul.svm", b"+1 1:1\x00\n")


# ---- .npy ---------------------------------------------------------------------

def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr)
    else:
        np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()


def npy_raw(header, data=b"", major=1):
    """A .npy file with the given header dict text, padded like numpy.save."""
    prefix = 10 if major == 1 else 12
    header += b" " * (63 - (prefix + len(header)) % 64) + b"\n"
    size = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + size + header + data


def npy():
    put("npy/ok-x.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(3, 2)))
    put("npy/ok-y.npy", npy_bytes(np.array([0, 1, 1], dtype="<i8")))
    put("npy/empty.npy", b"")
    put("npy/bad-magic.npy", b"\x93NUMPZ\x01\x00" + npy_bytes(np.zeros(2))[8:])
    put("npy/bad-version.npy", b"\x93NUMPY\x04\x00" + npy_bytes(np.zeros(2))[8:])
    put("npy/bad-header.npy",
        npy_raw(b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), ", bytes(24)))
    put("npy/bad-header-key.npy",
        npy_raw(b"{'descr': '<f4', 'order': False, 'shape': (3, 2), }", bytes(24)))
    put("npy/bad-shape.npy",
        npy_raw(b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, -2), }", bytes(24)))
    ok = npy_bytes(np.arange(6, dtype="<f4").reshape(3, 2))
    put("npy/header-past-end.npy", ok[:8] + struct.pack("<H", 4000) + ok[10:])
    put("npy/truncated-header.npy", ok[:40])
    put("npy/truncated-data.npy", ok[:-5])
    put("npy/fortran.npy",
        npy_bytes(np.asfortranarray(np.arange(6, dtype="<f4").reshape(3, 2))))
    put("npy/complex.npy", npy_bytes(np.zeros(3, dtype="<c8")))
    put("npy/bool.npy", npy_bytes(np.array([True, False, True])))
    put("npy/float16.npy", npy_bytes(np.zeros(3, dtype="<f2")))
    put("npy/structured.npy",
        npy_bytes(np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")])))
    put("npy/3d.npy", npy_bytes(np.zeros((3, 2, 2), dtype="<f4")))
    put("npy/scalar.npy", npy_bytes(np.float32(1)))
    put("npy/overflow-shape.npy",
        npy_raw(b"{'descr': '<f8', 'fortran_order': False, "
                b"'shape': (4294967296, 4294967296), }"))
    put("npy/huge-shape.npy",
        npy_raw(b"{'descr': '<f8', 'fortran_order': False, "
                b"'shape': (100000000000, 1000), }"))


# ---- model files ----------------------------------------------------------------

def model(kind, n, k, d, bias, blocks, version=2, names=None, columns=None,
          label=None, label_col=None, options=None, crc=None, crc_flag=None):
    """Version 2 ends with the column names (none unless given); version 1
    has none."""
    out = b"\x89SRM\r\n\x1a\n"
    out += struct.pack("<IIQQQIQII", version, kind, n, k, d, bias, n, 1, 0)
    out += struct.pack("<Q", len(names) if names else 0)
    for nm in names or []:
        out += struct.pack("<I", len(nm)) + nm
    out += struct.pack("<I", len(blocks))
    for name, rows, cols, vals in blocks:
        out += struct.pack("<I", len(name)) + name + struct.pack("<QQ", rows, cols)
        out += struct.pack("<%df" % len(vals), *vals)
    if version >= 2:
        out += struct.pack("<Q", len(columns) if columns else 0)
        for nm in columns or []:
            out += struct.pack("<I", len(nm)) + nm
        out += struct.pack("<I", len(label or b"")) + (label or b"")
        out += struct.pack("<Q", 2**64 - 1 if label_col is None else label_col)
        out += struct.pack("<I", len(options or b"")) + (options or b"")
        flag = (0 if crc is None else 1) if crc_flag is None else crc_flag
        out += struct.pack("<II", crc or 0, flag)
    return out + struct.pack("<I", zlib.crc32(out) & 0xFFFFFFFF)


def models():
    theta = [0.5, -1.0, 0.0, 2.0, 1e-3, -0.25]
    ok = model(0, 2, 3, 0, 0, [(b"theta", 2, 3, theta)])
    put("model/ok.srm", ok)
    put("model/ok-names.srm", model(0, 2, 3, 0, 0, [(b"theta", 2, 3, theta)],
                                    names=[b"cat", b"dog", b"emu"]))
    put("model/empty.srm", b"")
    put("model/wrong-magic.srm", b"\x89SRN" + ok[4:])
    put("model/truncated-header.srm", ok[:40])
    put("model/truncated.srm", ok[:-9])
    put("model/trailing.srm", ok + b"\0\0\0\0")
    changed = bytearray(ok)
    changed[len(ok) - 10] ^= 0x01  # a bit of the last parameter
    put("model/changed-byte.srm", bytes(changed))
    changed = bytearray(ok)
    changed[16] ^= 0x01  # n: 2 -> 3
    put("model/changed-size.srm", bytes(changed))
    put("model/newer-version.srm", model(0, 2, 3, 0, 0, [(b"theta", 2, 3, theta)], version=3))
    put("model/ok-v1.srm", model(0, 2, 3, 0, 0, [(b"theta", 2, 3, theta)],
                                 version=1))
    put("model/ok-columns.srm",
        model(0, 2, 3, 0, 0, [(b"theta", 2, 3, theta)], columns=[b"x", b""],
              label=b"kind", label_col=0))
    put("model/column-count.srm",
        model(0, 2, 3, 0, 0, [(b"theta", 2, 3, theta)], columns=[b"x"]))
    put("model/label-column.srm",
        model(0, 2, 3, 0, 0, [(b"theta", 2, 3, theta)], label=b"kind",
              label_col=3))
    put("model/options-flag.srm",
        model(0, 2, 3, 0, 0, [(b"theta", 2, 3, theta)], options=b"lr=1",
              crc=7, crc_flag=2))
    put("model/column-nul.srm",
        model(0, 2, 3, 0, 0, [(b"theta", 2, 3, theta)], columns=[b"x", b"a\0b"]))
    put("model/huge-block.srm",
        model(0, 2, 3, 0, 0, [(b"theta", 2**62, 2**62, [])]))
    put("model/huge-sizes.srm",
        model(0, 2**40, 2**40, 0, 0, [(b"theta", 2**40, 2**40, [])]))
    put("model/unknown-kind.srm", model(7, 2, 3, 0, 0, [(b"theta", 2, 3, theta)]))
    put("model/wrong-block.srm", model(0, 2, 3, 0, 0, [(b"W1", 2, 3, theta)]))


def main():
    idx()
    gzip_files()
    csv()
    libsvm()
    npy()
    models()


if __name__ == "__main__":
    main()
