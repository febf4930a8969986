"""Turn the notebook sources (jupytext percent-format `.py`) into executed `.ipynb` files.

    python notebooks/build.py                 # every notebook -> notebooks/build/*.ipynb, executed
    python notebooks/build.py 03_one_layer    # just one (a name, a prefix or a path)
    python notebooks/build.py --no-execute    # convert only

The `.py` files are the source of truth; `notebooks/build/` is git-ignored. The build runs every kernel with
one BLAS/OpenMP thread (`BUILD_BLAS_THREADS`; OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS are
set unless your environment already sets them), so the timings a notebook prints (notebook 06's speed table)
come from a fixed thread count and can be compared between builds. `--threads N` changes it.

Notebooks run in a kernel of *this* interpreter (`sys.executable`), registered under a private name in a
temporary Jupyter path, so a `python3` kernelspec that points at another Python cannot be picked up by
mistake. `tests/test_notebooks.py` and the docs build (`docs/_hooks.py`) use `execute()` from here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
KERNEL_NAME = "minimobilebert-notebooks"


def sources() -> list[Path]:
    """The notebook sources, in reading order (their file names start with a number)."""
    return sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))


@contextlib.contextmanager
def kernel_for_this_python() -> Iterator[str]:
    """A kernelspec that starts ipykernel with sys.executable, visible through JUPYTER_PATH while the block
    runs. Yields the kernel name to pass to nbclient."""
    with tempfile.TemporaryDirectory(prefix="mmb-kernel-") as root:
        spec_dir = Path(root) / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python ({sys.executable})",
            "language": "python",
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        previous = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = root + (os.pathsep + previous if previous else "")
        try:
            yield KERNEL_NAME
        finally:
            if previous is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = previous


def read(source: Path):
    """A jupytext percent-format source as an nbformat notebook."""
    import jupytext

    return jupytext.read(source)


INLINE = "module://matplotlib_inline.backend_inline"  # Jupyter's default: figures saved into the notebook


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
BUILD_BLAS_THREADS = 1  # the build and the docs site run notebooks single-threaded: reproducible timings


def execute(source: Path, timeout: int = 300, kernel_name: str | None = None, mpl_backend: str = INLINE,
            blas_threads: int | None = None):
    """Run every cell of `source` top to bottom in a fresh kernel whose working directory is notebooks/.
    Raises nbclient's CellExecutionError on the first failing cell. Returns the executed notebook.

    `mpl_backend` is passed to the kernel as MPLBACKEND; neither choice needs a display. The build keeps
    the inline backend so the figures land in the .ipynb; the test uses "Agg" (nothing is rendered
    into the notebook, which is faster).

    `blas_threads`, when given, caps the BLAS/OpenMP thread count of the kernel unless the caller's
    environment already sets it. The notebooks multiply tiny matrices; on a busy 2-core machine
    OpenBLAS's spin-waiting threads made one notebook 10x slower (22 s instead of 2 s), so the test
    runs them single-threaded."""
    from nbclient import NotebookClient

    nb = read(source)
    changed = {"MPLBACKEND": mpl_backend}  # inherited by the kernel
    if blas_threads is not None:
        changed.update({k: str(blas_threads) for k in THREAD_VARIABLES if k not in os.environ})
    env_backup = {k: os.environ.get(k) for k in changed}
    os.environ.update(changed)
    try:
        with contextlib.ExitStack() as stack:
            name = kernel_name or stack.enter_context(kernel_for_this_python())
            client = NotebookClient(nb, timeout=timeout, kernel_name=name,
                                    resources={"metadata": {"path": str(source.parent)}})
            client.execute()
    finally:
        for k, v in env_backup.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def main(argv: list[str] | None = None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebooks to build (default: all)")
    parser.add_argument("--no-execute", action="store_true", help="convert without running")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    parser.add_argument("--threads", type=int, default=BUILD_BLAS_THREADS,
                        help="BLAS/OpenMP threads of the kernel (default: %(default)s, for reproducible timings)")
    args = parser.parse_args(argv)

    chosen = sources()
    if args.names:
        chosen = [p for p in chosen if any(p.name.startswith(Path(n).stem) for n in args.names)]
        if not chosen:
            parser.error(f"no notebook matches {args.names}; have {[p.stem for p in sources()]}")
    BUILD.mkdir(exist_ok=True)
    with kernel_for_this_python() as kernel:
        for source in chosen:
            started = time.perf_counter()
            nb = read(source) if args.no_execute else execute(source, args.timeout, kernel, blas_threads=args.threads)
            target = BUILD / (source.stem + ".ipynb")
            nbformat.write(nb, target)
            print(f"{target.relative_to(HERE.parent)}  ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
