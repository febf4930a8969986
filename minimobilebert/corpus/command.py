"""The `minimobilebert map` command (added to the command line by cli.py; Dask is imported only when it runs).

    minimobilebert map classify|ner|embed|fill-mask --model PATH --input texts.jsonl --output out/
        [--field text] [--scheduler tcp://host:8786 | --workers N] [--batch-size 32] [--partition-size 1024]
        [--format jsonl|parquet] [--top-k K] [--aggregation simple] [--max-bytes 65536] [--retries 2]

Exit code 0 when every partition is done, 1 when some failed (rerun the same command to retry them), 2 for
bad arguments or a model that cannot do the task (one line, before any work starts).
"""

from __future__ import annotations

import argparse
import json

from .run import AGGREGATIONS, DEFAULTS, DASK_HINT
from .tasks import TASKS


def add_map_command(commands) -> argparse.ArgumentParser:
    """Add `map` to the CLI's subparsers."""
    m = commands.add_parser(
        "map", help="run classify / ner / embed / fill-mask over every line of a corpus, on Dask",
        description=f"Run a task over every record of a corpus on Dask (needs {DASK_HINT}). Input: text files (one "
                    "text per line) or JSON Lines (.jsonl/.ndjson/.json, or any file with --field). Output: one file "
                    "per partition, errors.jsonl and manifest.json; a rerun into the same folder resumes. "
                    "See docs/corpus.md.")
    m.add_argument("task", choices=list(TASKS))
    m.add_argument("--model", required=True,
                   help="checkpoint folder (for embed also a sentence-transformers folder or all-MiniLM-L6-v2)")
    m.add_argument("--input", required=True, nargs="+", action="extend", metavar="PATH",
                   help="input files or globs (quote globs); repeatable")
    m.add_argument("--output", required=True, metavar="FOLDER", help="output folder (created; reruns resume)")
    m.add_argument("--field", help="the JSON field holding the text (default: text); makes every input JSON Lines")
    where = m.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://host:8786")
    where.add_argument("--workers", type=int, metavar="N",
                       help="local worker processes (default: one per core, single-threaded)")
    m.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"], help="texts per forward pass")
    m.add_argument("--partition-size", type=int, default=DEFAULTS["partition_size"],
                   help="lines per partition: per task, per output file, per unit of resumption")
    m.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl", help="output format (parquet: pyarrow)")
    m.add_argument("--top-k", type=int, help="labels per text (classify, default 1) / tokens per mask (fill-mask, 5)")
    m.add_argument("--aggregation", choices=list(AGGREGATIONS), default="simple", help="ner's entity grouping")
    m.add_argument("--max-bytes", type=int, default=DEFAULTS["max_bytes"],
                   help="longer records are reported as errors, not read")
    m.add_argument("--retries", type=int, default=DEFAULTS["retries"], help="retries of a failing partition")
    m.add_argument("--offline", action="store_true", help="never use the network, only the local cache")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.add_argument("--json", action="store_true", help="print the summary as JSON")
    m.set_defaults(func=cmd_map)
    return m


def cmd_map(args: argparse.Namespace) -> int:
    from .run import map_corpus

    summary = map_corpus(args.task, args.model, args.input, args.output, field=args.field, scheduler=args.scheduler,
                         workers=args.workers, batch_size=args.batch_size, partition_size=args.partition_size,
                         fmt=args.format, top_k=args.top_k, aggregation=args.aggregation, max_bytes=args.max_bytes,
                         retries=args.retries, progress=not args.no_progress, local_files_only=args.offline)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print("\n".join(summary.lines()))
    return 1 if summary.failed else 0
