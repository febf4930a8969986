"""Builds the optional compiled extensions:

    kernels/cython_kernels.pyx                      -> minimobilebert._cython_kernels (the "cython" backend)
    kernels/engine.pyx + kernels/engine/*.c         -> minimobilebert._engine (the whole-encoder engine,
                                                       minimobilebert/engine.py)

Everything else about the package is declared in pyproject.toml. The extensions are OPTIONAL: without a C
compiler, Cython or NumPy's headers, `pip install` prints one line saying so and installs the pure
NumPy package (the "cython" backend / the engine are then simply not available; see
minimobilebert/backend.py and minimobilebert/engine.py). Set MINIMOBILEBERT_REQUIRE_EXTENSION=1 (as CI
does) to make a failed build an error instead.

The engine is built with OpenMP (-fopenmp) when the compiler has it, else without (one thread). It is
never built with -march=native: its AVX-512 and AVX2 code carries per-function target attributes and is
chosen at run time from the CPU's features, so the wheel runs on any x86-64 (and elsewhere, portable C).
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

REQUIRED = bool(os.environ.get("MINIMOBILEBERT_REQUIRE_EXTENSION"))
OPENMP_FLAG = "-fopenmp"


class OptionalBuildExt(build_ext):
    """build_ext that turns any build failure into one clear message (unless the extension is required)."""

    def run(self):
        try:
            super().run()
        except Exception as e:  # noqa: BLE001 - no compiler, no Python headers, ...
            self._skip(e)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as e:  # noqa: BLE001 - CompileError, LinkError, ...
            if OPENMP_FLAG in ext.extra_compile_args:
                # A compiler without OpenMP: build the engine single-threaded instead.
                print(f"minimobilebert: {ext.name} builds without OpenMP ({type(e).__name__}); the engine will "
                      "run on one thread", file=sys.stderr)
                ext.extra_compile_args = [a for a in ext.extra_compile_args if a != OPENMP_FLAG]
                ext.extra_link_args = [a for a in ext.extra_link_args if a != OPENMP_FLAG]
                try:
                    super().build_extension(ext)
                    return
                except Exception as e2:  # noqa: BLE001
                    e = e2
            self._skip(e)

    def _skip(self, e):
        if REQUIRED:
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"minimobilebert: optional Cython kernels not built ({type(e).__name__}: {first}); "
              "the numpy (and numba, if installed) backends still work", file=sys.stderr)


def extensions():
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError as e:
        if REQUIRED:
            raise
        print(f"minimobilebert: optional Cython kernels not built ({e}); install Cython>=3 and numpy to build "
              "them", file=sys.stderr)
        return []
    from setuptools import Extension

    ext = Extension(
        "minimobilebert._cython_kernels",
        ["kernels/cython_kernels.pyx"],
        include_dirs=[numpy.get_include(), "kernels"],
        depends=["kernels/engine/engine.h", "kernels/engine/isa.h", "kernels/engine/rowops.h"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # -fassociative-math & co. let gcc vectorize the row sums (softmax, LayerNorm); NaN and inf keep
        # their IEEE meaning (no -ffinite-math-only), which the fully-masked-row guarantee relies on.
        extra_compile_args=(["-O3", "-fno-math-errno", "-fassociative-math", "-fno-signed-zeros",
                             "-fno-trapping-math"] if sys.platform != "win32" else ["/O2"]),
    )
    # The engine: C kernels (intrinsics behind target attributes, see kernels/engine/README.md). No -ffast-math:
    # -fno-trapping-math is what lets gcc vectorise floorf in the softmax's exp; NaN/inf keep their meaning.
    posix = sys.platform != "win32"
    engine = Extension(
        "minimobilebert._engine",
        ["kernels/engine.pyx", "kernels/engine/kernels.c", "kernels/engine/forward.c"],
        include_dirs=[numpy.get_include(), "kernels"],
        depends=["kernels/engine/engine.h", "kernels/engine/isa.h", "kernels/engine/rowops.h"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=(["-O3", "-fno-math-errno", "-fno-trapping-math", OPENMP_FLAG] if posix else ["/O2"]),
        extra_link_args=([OPENMP_FLAG] if posix else []),
    )
    try:
        return cythonize([ext, engine], compiler_directives={"language_level": 3}, build_dir="build", quiet=True)
    except Exception as e:  # noqa: BLE001 - a Cython error must not break the pure-Python install
        if REQUIRED:
            raise
        print(f"minimobilebert: optional Cython kernels not built (cythonize failed: {e})", file=sys.stderr)
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
