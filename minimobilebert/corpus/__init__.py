"""Corpus-scale inference on Dask: classify, tag, fill masks in or embed every line of a corpus, on this
machine's cores or on a cluster, resumable, nothing lost and nothing duplicated.

    minimobilebert map classify --model PATH --input 'texts/*.jsonl' --output out/
    from minimobilebert.corpus import map_corpus
    summary = map_corpus("classify", "PATH", ["texts/*.jsonl"], "out/")

Needs the optional extra `pip install 'minimobilebert[dask]'`; `import minimobilebert` never imports Dask,
and neither does this package until a run starts. The parts, one concept each:

    records.py   input files -> partitions (byte ranges of lines); a line -> (id, text) or an error
    tasks.py     the worker side: the per-process model cache, one partition -> results and errors
    store.py     the output folder: part files, manifest, atomic writes, resumption
    cluster.py   the LocalCluster sizing rule, connecting to a scheduler, the model-loading WorkerPlugin
    run.py       map_corpus: check, plan, run the partitions not done yet, summarise

docs/corpus.md has the usage, the sizing rule, how it scales and measured numbers.
"""

from .run import RunSummary, map_corpus
from .tasks import TASKS

__all__ = ["TASKS", "RunSummary", "map_corpus"]
