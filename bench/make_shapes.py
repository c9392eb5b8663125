#!/usr/bin/python3
"""Generates the shapes benchmark's data sets, seeded, with NumPy.

usage: make_shapes.py NAME --scale S --out DIR

NAME is one of the data sets below. The files go to DIR with a stamp
(stamp.json) naming the generator's version, the data set's parameters and
each file's size; a later call with the same parameters finds the stamp and
the files and does nothing, so the data are generated once and reused. A
new set is written beside DIR and renamed into place, so an interrupted run
never leaves files that look valid.

--scale shrinks the number of examples (never the features or classes), for
quick checks of the harness; every class keeps at least one training row.

Prints one JSON line: the stamp (files, sizes, the data's shape), plus
"generated": seconds spent, or 0 when the stamp was valid.

The data sets:

  dense-k100   float32 .npy, 90,000 x 512 (+ 10,000 test), 100 classes
  dense-k1000  float32 .npy, 20,000 x 256 (+ 5,000 test), 1,000 classes
  cifar        uint8 IDX images (m, 32, 96), 32 x 32 x 3 interleaved per row,
               50,000 (+ 10,000 test), 10 classes, few zero pixels
  text         LIBSVM, 16,000 (+ 4,000 test) documents over a vocabulary of
               1,350,000 words, 20 classes, about 200 words a document
"""
import argparse
import json
import os
import shutil
import struct
import sys
import time

import numpy as np

# Bump when the output of any generator changes: stamps of another version
# are stale and their data are generated again.
GENERATOR_VERSION = 1

# Dense classes in a low-dimensional latent space: z = centre[y] + noise in
# `latent` dimensions (centres and noise of unit variance, `latent_noise`
# sets how much the classes overlap), mapped to n features by a fixed random
# matrix, plus independent noise in every feature (half the variance each).
# A row's squared norm is of the order of MNIST's (tens to hundreds), where
# SGD at lr 0.2 is stable; dense-k1000's is the larger, so that classes
# seen 20 times an epoch are learnt within 3 epochs.
DENSE = {
    "dense-k100": dict(m=90000, m_test=10000, n=512, k=100, latent=32,
                       latent_noise=1.2, feature_sd=0.3, seed=100),
    "dense-k1000": dict(m=20000, m_test=5000, n=256, k=1000, latent=64,
                        latent_noise=1.0, feature_sd=1.2, seed=1000),
}

# CIFAR-like: a smooth template per class on a grey background, each image
# with its own brightness, contrast and smooth variation, plus pixel noise.
CIFAR = dict(m=50000, m_test=10000, side=32, channels=3, k=10,
             template_sd=6.0, image_sd=35.0, pixel_sd=12.0, seed=10)

# Text-like: word ids are ranks in a Zipf law over the vocabulary (id 1 the
# most frequent). A document draws a share of its tokens, uniform in
# [0, topic_share_max], from its class's own topic words (mid-frequency
# words, Zipf-weighted within the topic), the rest from the whole
# vocabulary, so a few documents say almost nothing about their class.
TEXT = dict(m=16000, m_test=4000, vocabulary=1350000, k=20, zipf=1.1,
            tokens_min=190, tokens_max=450, topic_words=400,
            topic_lo=200, topic_hi=50000, topic_share_max=0.10, seed=20)


def scaled(count, scale, floor):
    return max(floor, int(round(count * scale)))


def balanced_labels(rng, m, k):
    """Every class equally often (to within one), in a random order: with
    m >= k every class is present, as the readers require of a training set
    and its test set."""
    return rng.permutation(np.arange(m) % k)


def save_npy(path, array):
    np.save(path, np.ascontiguousarray(array))


def gen_dense(p, scale, out):
    rng = np.random.default_rng(p["seed"])
    n, k, r = p["n"], p["k"], p["latent"]
    sd = np.float32(p["feature_sd"])
    centres = rng.standard_normal((k, r), dtype=np.float32)
    # Half of every feature's variance comes from the latent space.
    mix = (rng.standard_normal((r, n), dtype=np.float32) *
           np.float32(np.sqrt(0.5 / (r * (1 + p["latent_noise"] ** 2)))) * sd)
    sizes = {"train": scaled(p["m"], scale, k),
             "test": scaled(p["m_test"], scale, 1)}
    for split, m in sizes.items():
        y = balanced_labels(rng, m, k)
        X = np.empty((m, n), dtype=np.float32)
        for i in range(0, m, 10000):  # in blocks: no full-size temporaries
            j = min(m, i + 10000)
            z = centres[y[i:j]] + np.float32(p["latent_noise"]) * \
                rng.standard_normal((j - i, r), dtype=np.float32)
            X[i:j] = rng.standard_normal((j - i, n), dtype=np.float32)
            X[i:j] *= sd * np.float32(np.sqrt(0.5))
            X[i:j] += z @ mix
        save_npy(os.path.join(out, split + "-X.npy"), X)
        save_npy(os.path.join(out, split + "-y.npy"), y.astype(np.int64))
    return dict(m=sizes["train"], m_test=sizes["test"], n=n, k=k)


def write_idx_images(path, pixels):
    m, rows, cols = pixels.shape
    with open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, m, rows, cols))
        f.write(pixels.tobytes())


def write_idx_labels(path, labels):
    with open(path, "wb") as f:
        f.write(struct.pack(">II", 0x801, labels.size))
        f.write(labels.astype(np.uint8).tobytes())


def smooth_field(rng, count, side, channels, coarse=8):
    """Random images that vary slowly: coarse x coarse noise per channel,
    repeated up to side x side; (count, side, side, channels)."""
    f = rng.standard_normal((count, coarse, coarse, channels), dtype=np.float32)
    rep = side // coarse
    return f.repeat(rep, axis=1).repeat(rep, axis=2)


def gen_cifar(p, scale, out):
    rng = np.random.default_rng(p["seed"])
    side, ch, k = p["side"], p["channels"], p["k"]
    templates = smooth_field(rng, k, side, ch) * np.float32(p["template_sd"])
    sizes = {"train": scaled(p["m"], scale, k),
             "test": scaled(p["m_test"], scale, 1)}
    shares = {}
    for split, m in sizes.items():
        y = balanced_labels(rng, m, k)
        images = np.empty((m, side, side * ch), dtype=np.uint8)
        zeros = 0
        for i in range(0, m, 5000):
            j = min(m, i + 5000)
            c = j - i
            contrast = rng.uniform(0.6, 1.4, (c, 1, 1, 1)).astype(np.float32)
            brightness = rng.uniform(95, 160, (c, 1, 1, 1)).astype(np.float32)
            img = templates[y[i:j]] * contrast + brightness
            img += smooth_field(rng, c, side, ch) * np.float32(p["image_sd"])
            img += (rng.standard_normal(img.shape, dtype=np.float32) *
                    np.float32(p["pixel_sd"]))
            np.clip(np.rint(img), 0, 255, out=img)
            images[i:j] = img.reshape(c, side, side * ch)
            zeros += int(np.count_nonzero(images[i:j] == 0))
        write_idx_images(os.path.join(out, split + "-images.idx"), images)
        write_idx_labels(os.path.join(out, split + "-labels.idx"), y)
        shares[split] = zeros / images.size
    return dict(m=sizes["train"], m_test=sizes["test"], n=side * side * ch,
                k=k, zero_pixel_share=round(shares["train"], 6))


def zipf_cdf(count, exponent):
    w = np.arange(1, count + 1, dtype=np.float64) ** -exponent
    c = np.cumsum(w)
    return c / c[-1]


def draw(rng, cdf, size):
    """0-based ranks drawn from the distribution whose CDF is cdf."""
    r = np.searchsorted(cdf, rng.random(size), side="right")
    return np.minimum(r, cdf.size - 1)


def write_libsvm(path, labels, indptr, index, value):
    """One line a row: label, then index:value in increasing index order."""
    with open(path, "w") as f:
        for i in range(labels.size):
            a, b = indptr[i], indptr[i + 1]
            # One format over the whole line: far faster than one per pair.
            pairs = np.empty(2 * (b - a), dtype=object)
            pairs[0::2] = index[a:b].tolist()
            pairs[1::2] = value[a:b].tolist()
            f.write(("%d" + " %d:%.6g" * (b - a) + "\n") %
                    (labels[i], *pairs))


def gen_text(p, scale, out):
    rng = np.random.default_rng(p["seed"])
    V, k = p["vocabulary"], p["k"]
    m = scaled(p["m"], scale, k)
    m_test = scaled(p["m_test"], scale, 1)
    rows = m + m_test
    y = np.concatenate([balanced_labels(rng, m, k),
                        balanced_labels(rng, m_test, k)])

    # Each class's topic: distinct mid-frequency words, Zipf-weighted.
    topics = np.stack([rng.choice(np.arange(p["topic_lo"], p["topic_hi"]),
                                  p["topic_words"], replace=False)
                       for _ in range(k)])
    background = zipf_cdf(V, p["zipf"])
    within_topic = zipf_cdf(p["topic_words"], p["zipf"])

    tokens = rng.integers(p["tokens_min"], p["tokens_max"] + 1, rows)
    row = np.repeat(np.arange(rows), tokens)
    share = rng.uniform(0, p["topic_share_max"], rows)
    topical = rng.random(row.size) < share[row]
    word = draw(rng, background, row.size) + 1
    t = np.flatnonzero(topical)
    word[t] = topics[y[row[t]], draw(rng, within_topic, t.size)] + 1
    # The last training document holds the vocabulary's last word once, so
    # that the training file's largest index, the width every reader takes,
    # is the vocabulary's size.
    row = np.append(row, m - 1)
    word = np.append(word, V)

    # Term counts per (document, word); sorting the keys gives CSR order.
    key, count = np.unique(row.astype(np.int64) * (V + 1) + word,
                           return_counts=True)
    row, word = key // (V + 1), key % (V + 1)
    # tf-idf (sublinear tf, smoothed idf over all documents), each row
    # scaled to unit L2 norm.
    df = np.bincount(word, minlength=V + 1)
    value = (1 + np.log(count)) * (np.log((1 + rows) / (1 + df[word])) + 1)
    value /= np.sqrt(np.bincount(row, weights=value ** 2, minlength=rows))[row]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=rows))])

    cut = indptr[m]
    write_libsvm(os.path.join(out, "train.svm"), y[:m], indptr[:m + 1],
                 word[:cut], value[:cut])
    write_libsvm(os.path.join(out, "test.svm"), y[m:], indptr[m:] - cut,
                 word[cut:], value[cut:])
    return dict(m=m, m_test=m_test, n=V, k=k, nnz=int(cut),
                nnz_test=int(indptr[-1] - cut))


GENERATORS = {name: (gen_dense, p) for name, p in DENSE.items()}
GENERATORS["cifar"] = (gen_cifar, CIFAR)
GENERATORS["text"] = (gen_text, TEXT)


def expected_stamp(name, scale):
    return {"generator": GENERATOR_VERSION, "name": name, "scale": scale,
            "params": GENERATORS[name][1]}


def valid(out, want):
    """The stamp in out matches want and every file it lists has its size."""
    try:
        with open(os.path.join(out, "stamp.json")) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return None
    if any(stamp.get(key) != val for key, val in want.items()):
        return None
    for fname, size in stamp.get("files", {}).items():
        path = os.path.join(out, fname)
        if not os.path.isfile(path) or os.path.getsize(path) != size:
            return None
    return stamp if stamp.get("files") else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=sorted(GENERATORS))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    want = expected_stamp(a.name, a.scale)
    stamp = valid(a.out, want)
    if stamp:
        stamp["generated"] = 0
        print(json.dumps(stamp))
        return
    t0 = time.perf_counter()
    tmp = "%s.tmp-%d" % (a.out.rstrip("/"), os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    gen, params = GENERATORS[a.name]
    stamp = dict(want)
    stamp["shape"] = gen(params, a.scale, tmp)
    stamp["files"] = {f: os.path.getsize(os.path.join(tmp, f))
                      for f in sorted(os.listdir(tmp))}
    with open(os.path.join(tmp, "stamp.json"), "w") as f:
        json.dump(stamp, f, indent=1)
        f.write("\n")
    shutil.rmtree(a.out, ignore_errors=True)
    os.rename(tmp, a.out)
    stamp["generated"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(stamp))


if __name__ == "__main__":
    sys.exit(main())
