"""One training run through sr_train: parameters in, a Model and the epoch
table out, with Ctrl-C honoured.

The library runs in a worker thread while the calling thread waits in
short joins, so that a KeyboardInterrupt reaches Python promptly: it sets
the library's interrupt flag, training stops after the current minibatch,
and the model of the last finished epoch (if any) is kept."""
import ctypes
import sys
import threading

import numpy as np

from . import _lib
from ._model import Model

HISTORY_FIELDS = ("train_loss", "train_err", "test_loss", "test_err",
                  "val_loss", "val_err", "seconds")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; .model is the last finished epoch's or None."""

    def __init__(self, model):
        super().__init__("training interrupted")
        self.model = model


def _print_row(stats, with_test, with_val):
    row = f"| {stats.epoch:5d} | {stats.train_loss:10.5f} | {stats.train_err:9.5f} |"
    if with_test:
        row += f" {stats.test_loss:9.5f} | {stats.test_err:8.5f} |"
    if with_val:
        row += f" {stats.val_loss:8.5f} | {stats.val_err:7.5f} |"
    print(row, file=sys.stdout, flush=True)


def train(data, params, verbose=False, test=None):
    """Runs sr_train on `data`, evaluating `test` (a DataSet or None)
    after every epoch; returns (Model, history dict, outcome)."""
    rows = []
    with_val = params.val_split > 0

    def on_epoch(stats_ptr, _user):
        s = stats_ptr.contents
        rows.append((s.epoch,) + tuple(getattr(s, f) for f in HISTORY_FIELDS))
        if verbose:
            _print_row(s, test is not None, with_val)
        return 0

    callback = _lib.EPOCH_CALLBACK(on_epoch)
    flag = ctypes.c_int(0)
    outcome = _lib.TrainOutcome()
    params.interrupt = ctypes.pointer(flag)
    params.keep_on_interrupt = 1
    params.outcome = ctypes.pointer(outcome)
    err = _lib.Error()
    _lib.check(_lib.lib.sr_train_params_check(ctypes.byref(params),
                                              ctypes.byref(err)), err)
    if verbose:
        head = "| Epoch | Train Loss | Train Err |"
        if test is not None:
            head += " Test Loss | Test Err |"
        print(head + (" Val Loss | Val Err |" if with_val else ""), flush=True)

    handle = ctypes.c_void_p()
    result = {}

    done = threading.Event()

    def work():
        try:
            result["status"] = _lib.lib.sr_train(
                data.handle, test.handle if test is not None else None,
                ctypes.byref(params), callback, None,
                ctypes.byref(handle), ctypes.byref(err))
        finally:
            done.set()

    # An Event, not Thread.join: a join that Ctrl-C interrupts may take the
    # thread for finished while it still runs (CPython issue 90882).
    threading.Thread(target=work, name="softreg-train", daemon=True).start()
    try:
        while not done.wait(0.05):
            pass
    except KeyboardInterrupt:
        flag.value = 1
        done.wait()
        raise Interrupted(Model(handle) if handle else None) from None
    status = result["status"]
    if status == _lib.SR_ERR_INTERRUPTED:  # a signal reached the library
        raise Interrupted(Model(handle) if handle else None)
    _lib.check(status, err)
    table = np.array(rows, dtype=np.float64).reshape(-1, 1 + len(HISTORY_FIELDS))
    history = {"epoch": table[:, 0].astype(np.int64)}
    for i, name in enumerate(HISTORY_FIELDS):
        history[name] = table[:, i + 1]
    if not with_val:
        del history["val_loss"], history["val_err"]
    if test is None:
        del history["test_loss"], history["test_err"]
    return Model(handle), history, outcome
