"""Builds libsoftreg.so with the repository's Makefile and ships it inside
the package (softreg/libsoftreg.so.0), so that an installed package needs
nothing from the build tree. SOFTREG_LIB names a library to ship instead."""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        lib = os.environ.get("SOFTREG_LIB")
        if not lib:
            subprocess.run(["make", "-C", ROOT, "-s", "build/libsoftreg.so"],
                           check=True)
            lib = os.path.join(ROOT, "build", "libsoftreg.so")
        shutil.copyfile(lib, os.path.join(self.build_lib, "softreg",
                                          "libsoftreg.so.0"))


class BinaryDistribution(Distribution):
    """The wheel holds a machine-specific library."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
