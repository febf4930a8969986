"""Where the work runs: a LocalCluster sized to this machine, or an existing Dask cluster.

The sizing rule (`local_cluster_shape`): ONE single-threaded worker process per core, and every BLAS /
OpenMP / Numba thread pool in the workers set to one thread (THREAD_VARIABLES, put in the workers'
environment before they start). Why:

* processes, not threads: the tokenizer and the pipelines' post-processing are pure Python and hold the
  GIL, so threads of one process would queue behind each other for everything but the matrix products;
* one BLAS / engine thread per process: with P processes each running T threads on C cores, P * T > C
  threads compete for the cores, and OpenBLAS's spinning threads on a busy machine make short inputs many
  times slower (docs/limitations.md measured 13x). P = C and T = 1 uses every core once. The compiled
  engine reads MINIMOBILEBERT_NUM_THREADS (default: every core), BLAS its own variables: all are set to 1;
* memory caps the count: each worker holds its own copy of the weights (about 100 MB for the published
  model), its activations and, for fill-mask, [masks, vocab] logits; WORKER_MEMORY (1 GiB) per worker is
  the budget, so P = min(cores, memory / 1 GiB).

`--workers N` overrides the count (still single-threaded workers). `--scheduler ADDRESS` uses an existing
cluster as it is (its workers get MINIMOBILEBERT_NUM_THREADS=1 from the plugin below unless they set it);
start its workers with the same rule: `dask worker ADDRESS --nworkers <cores>
--nthreads 1` with MINIMOBILEBERT_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 in their
environment, minimobilebert installed, and the model folder at the same path on every machine.

The model is loaded by a WorkerPlugin: registering it loads the model on every worker now (so a worker that
cannot load it fails the run before any partition is sent) and on every worker that joins or restarts later.
The plugin also sets the worker's malloc back to glibc's usual behaviour (`reuse_freed_memory`: Dask's
default worker environment made each forward pass cost 1.4x the CPU time).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from ..backend import cores_available
from ..errors import CheckpointError, InputError
from . import tasks

THREAD_VARIABLES = ("MINIMOBILEBERT_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")
WORKER_MEMORY = 1 << 30  # bytes of budget per worker process (activations, logits, the partition in flight)
CONNECT_TIMEOUT = 20  # seconds to reach a scheduler, and to wait for its first worker


def local_cluster_shape(workers: int | None = None, cores: int | None = None,
                        memory: int | None = None) -> dict[str, Any]:
    """LocalCluster arguments by the rule in the module docstring: n_workers single-threaded processes,
    each with memory_limit bytes and one-thread BLAS."""
    if cores is None:
        cores = cores_available()
    if memory is None:
        import psutil  # a dependency of distributed

        memory = psutil.virtual_memory().total
    n = workers if workers is not None else max(1, min(cores, memory // WORKER_MEMORY))
    return {"n_workers": int(n), "threads_per_worker": 1, "processes": True,
            "memory_limit": int(memory // n), "env": {name: "1" for name in THREAD_VARIABLES}}


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameter numbers (malloc.h)


def reuse_freed_memory() -> bool:
    """Undo, in this worker process, what Dask's nanny does to glibc's malloc for a numeric workload.

    The nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (config distributed.nanny.pre-spawn-environ),
    so that freed memory goes back to the OS. Setting it also turns off glibc's adaptive mmap threshold: every
    array over 128 KiB is then a fresh mmap, zero-filled page by page and unmapped when freed, and a forward
    pass allocates many such activations. Measured here (24 layers, 1 thread, length-sorted batches of 32):
    31-32 ms of CPU per text instead of 21-22 ms, 1.4x. This sets the two thresholds to where glibc's adaptive rule ends up by itself (mmap
    above 32 MiB, trim above 64 MiB), so activations reuse the heap as in a plain Python process. Returns
    False where there is no glibc (macOS, musl), which changes nothing."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 64 << 20))
    except (OSError, AttributeError):
        return False


class ModelPlugin(WorkerPlugin):
    """Loads the run's model into each worker process's cache (tasks._RUNNERS) when the worker starts."""

    def __init__(self, spec: tasks.ModelSpec):
        self.spec = spec
        self.name = f"minimobilebert-{spec.task}-{abs(hash(spec)):x}"

    def setup(self, worker) -> None:
        # The sizing rule on a cluster we did not start either: one engine / BLAS thread per task, the
        # parallelism comes from the workers. Read at the first forward pass, so set before the model runs;
        # a worker started with its own MINIMOBILEBERT_NUM_THREADS keeps it.
        os.environ.setdefault("MINIMOBILEBERT_NUM_THREADS", "1")
        reuse_freed_memory()
        tasks.load_runner(self.spec)

    def teardown(self, worker) -> None:
        tasks.forget(self.spec)


def connect(scheduler: str | None, workers: int | None) -> tuple[Client, LocalCluster | None]:
    """A client on `scheduler`, or on a new LocalCluster (returned too, for the caller to close)."""
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} ({type(e).__name__}: {e}); start "
                             "one (`dask scheduler`, then `dask worker ADDRESS`), or drop --scheduler to use this "
                             "machine's cores") from None
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError:
            client.close()
            raise InputError(f"the Dask scheduler at {scheduler!r} has no worker; start some with "
                             f"`dask worker {scheduler} --nthreads 1`") from None
        return client, None
    import dask

    # Dask's statistical profiler samples every worker thread's stack every 10 ms: 2-3 ms of CPU per text
    # here (about 10%), for a profile nobody reads in a batch run. Off for the workers we start.
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(**local_cluster_shape(workers), dashboard_address=":0", scheduler_port=0,
                               silence_logs=logging.ERROR)
    try:
        return Client(cluster), cluster
    except BaseException:
        cluster.close()
        raise


def load_model_on_workers(client: Client, spec: tasks.ModelSpec) -> ModelPlugin:
    plugin = ModelPlugin(spec)
    try:
        client.register_plugin(plugin, name=plugin.name)
    except Exception as e:  # noqa: BLE001 - whatever a worker raised while loading, said in one line
        raise CheckpointError(f"a worker could not load the model {spec.folder!r}: {type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}. Every worker needs minimobilebert "
                              "installed and the model folder at this same path") from None
    return plugin


def unload_model(client: Client, plugin: ModelPlugin) -> None:
    try:
        client.unregister_worker_plugin(plugin.name)
    except Exception:  # noqa: BLE001 - best effort on a cluster we do not own
        pass
