"""The ctypes mirrors of the public structs against the header itself: a C
program compiled from include/softreg.h prints every field's offset and
each struct's size, which must equal ctypes'. A field added to the header
without its mirror fails here, not in a user's training run."""
import ctypes
import os
import shutil
import subprocess

import pytest

from conftest import ROOT
from softreg import _lib

STRUCTS = {"sr_train_params": _lib.TrainParams,
           "sr_train_outcome": _lib.TrainOutcome,
           "sr_epoch_stats": _lib.EpochStats,
           "sr_error": _lib.Error}


def test_struct_layouts_match_the_header(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.fail("no C compiler to read include/softreg.h with")
    lines = ["#include <stdio.h>", "#include <stddef.h>",
             '#include "softreg.h"', "int main(void) {"]
    for struct, mirror in STRUCTS.items():
        lines.append(f'printf("{struct} size %zu\\n", sizeof(struct {struct}));')
        for name, _ in mirror._fields_:
            lines.append(f'printf("{struct} {name} %zu\\n", '
                         f"offsetof(struct {struct}, {name}));")
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-I", os.path.join(ROOT, "include"), "-o", str(exe),
                    str(src)], check=True)
    printed = subprocess.run([str(exe)], capture_output=True, text=True,
                             check=True).stdout.split("\n")
    for line in filter(None, printed):
        struct, name, value = line.split()
        mirror = STRUCTS[struct]
        got = ctypes.sizeof(mirror) if name == "size" else \
            getattr(mirror, name).offset
        assert got == int(value), f"{struct}.{name}: ctypes {got}, C {value}"
    # Every field of the header's struct has a mirror: the sizes agree.
    assert len(printed) > 30
