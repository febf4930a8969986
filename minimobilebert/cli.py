"""The command line: `minimobilebert <command>` (also `python -m minimobilebert`).

    minimobilebert fill-mask "The capital of France is [MASK]."        (google/mobilebert-uncased by default)
    minimobilebert qa --question "Who was Jim Henson?" --context "Jim Henson was a nice puppet"
    minimobilebert classify "I've never had such a bad day in my life" --model PATH
    minimobilebert ner "HuggingFace is a company based in Paris and New York" --model PATH
    minimobilebert encode "Hello, my dog is cute"                       tokens, ids and the encoder's output
    minimobilebert init ./mobilebert-random      a random-weight checkpoint of the published shape, written
                                                 as transformers writes one (works offline)
    minimobilebert run --model PATH --ids 101 1996 103 102              run a checkpoint on token ids
    minimobilebert similarity "How do I bake bread?" --corpus FILE      nearest texts by meaning (all-MiniLM-L6-v2)
    minimobilebert embed TEXT... | --input FILE --output out.npy        sentence embeddings
    minimobilebert map classify --model PATH --input 'texts/*.jsonl' --output out/
                                                 a task over a whole corpus, on Dask (docs/corpus.md)

--model takes a local checkpoint folder or a hub id (downloaded once into huggingface_hub's cache).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings

import numpy as np

from . import backend
from .config import MobileBertConfig
from .errors import InputError, MiniMobileBertError, MissingWeightsWarning
from .functional import softmax
from .hub import resolve_model_folder
from .modeling import MODEL_CLASSES, OWN_CALL
from .params import HEADS

DEFAULT_MODEL = "google/mobilebert-uncased"
HEAD_BY_ARCHITECTURE = {class_name: head for head, (_, class_name) in HEADS.items()}
VOCAB_TOKENS: list[str] | None = None


def token_name(token_id: int, vocab_size: int) -> str:
    """The vocabulary entry of an id when the model uses the shipped BERT uncased vocab."""
    global VOCAB_TOKENS
    if vocab_size != 30522:
        return str(token_id)
    if VOCAB_TOKENS is None:
        import os

        with open(os.path.join(os.path.dirname(__file__), "data", "vocab.txt"), encoding="utf-8") as f:
            VOCAB_TOKENS = f.read().splitlines()
    return VOCAB_TOKENS[token_id]


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    probs = softmax(scores.astype(np.float64))
    order = np.argsort(-probs)[:k]
    return [(int(i), float(probs[i])) for i in order]


def summarize(head: str, output, ids: np.ndarray, config: MobileBertConfig, k: int) -> dict:
    """What the head predicts, in words: the top tokens at [MASK] positions, the top labels, the best span."""
    name = lambda i: token_name(i, config.vocab_size)  # noqa: E731
    summary: dict = {}
    if head in ("pretraining", "masked_lm"):
        logits = output.prediction_logits if head == "pretraining" else output.logits
        positions = [int(p) for p in np.flatnonzero(ids[0] == 103)] or [int(ids.shape[1] // 2)]
        summary["masked_predictions"] = {
            str(p): [{"token": name(i), "id": i, "score": round(s, 4)} for i, s in top_k(logits[0, p], k)]
            for p in positions
        }
    if head in ("pretraining", "next_sentence"):
        nsp = output.seq_relationship_logits if head == "pretraining" else output.logits
        summary["is_next_sentence"] = round(float(softmax(nsp[0].astype(np.float64))[0]), 4)
    if head in ("sequence_classification", "multiple_choice"):
        labels = config.id2label if head == "sequence_classification" else {}
        summary["labels"] = [{"label": labels.get(i, str(i)), "score": round(s, 4)} for i, s in
                             top_k(output.logits[0], k)]
    if head == "token_classification":
        best = output.logits[0].argmax(-1)
        summary["token_labels"] = [[name(int(t)), config.id2label[int(b)]] for t, b in zip(ids[0], best)]
    if head == "question_answering":  # the best span with start <= end, as the QA pipeline scores spans
        from .pipelines import best_spans

        allowed = np.ones(ids.shape[1], dtype=np.int64)
        spans, _ = best_spans(output.start_logits[0], output.end_logits[0], allowed, 1, ids.shape[1])
        start, end, score = spans[0]
        summary["span"] = {"start": start, "end": end, "score": round(score, 4),
                           "tokens": [name(int(t)) for t in ids[0, start:end + 1]]}
    return summary


def cmd_init(args: argparse.Namespace) -> int:
    import os

    if os.path.exists(args.folder) and not os.path.isdir(args.folder):
        raise InputError(f"{args.folder!r} exists and is not a folder; choose another path")
    if os.path.isdir(args.folder) and os.listdir(args.folder) and not args.force:
        raise InputError(f"{args.folder!r} is not empty; choose an empty or new folder, or pass --force to "
                         "overwrite the checkpoint files in it")
    config = MobileBertConfig.published(num_hidden_layers=args.layers)
    model = MODEL_CLASSES[args.head](config, seed=args.seed)
    model.save_pretrained(args.folder)
    from .tokenizer import MobileBertTokenizer

    MobileBertTokenizer().save_pretrained(args.folder)  # vocab.txt + tokenizer_config.json, as on the hub
    print(f"wrote a random-weight {HEADS[args.head][1]} ({config.num_hidden_layers} layers, "
          f"{model.num_parameters() / 1e6:.1f}M parameters, seed {args.seed}) and the BERT uncased "
          f"tokenizer to {args.folder}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    folder = resolve_model_folder(args.model, local_files_only=args.offline)
    config = MobileBertConfig.from_pretrained(folder)
    head = args.head
    if head == "auto":
        architecture = (config.architectures or ["MobileBertModel"])[0]
        head = HEAD_BY_ARCHITECTURE.get(architecture, "base")
    started = time.perf_counter()
    model = MODEL_CLASSES[head].from_pretrained(folder)
    load_seconds = time.perf_counter() - started

    ids = np.array([args.ids], dtype=np.int64)
    model(ids, **OWN_CALL)  # warm-up (lazy kernel compilation, BLAS threads)
    started = time.perf_counter()
    output = model(ids, **OWN_CALL)
    forward_ms = (time.perf_counter() - started) * 1e3

    shapes = {name: list(np.shape(value)) for name, value in vars(output).items()
              if isinstance(value, np.ndarray)}
    report = {
        "model": args.model, "class": type(model).__name__, "backend": backend.current_backend(),
        "parameters": model.num_parameters(), "input_ids": args.ids,
        "input_tokens": [token_name(i, config.vocab_size) for i in args.ids], "output_shapes": shapes,
        **summarize(head, output, ids, config, args.top_k),
        "timing": {"load_s": round(load_seconds, 3), "forward_ms": round(forward_ms, 2)},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def cmd_pipeline(args: argparse.Namespace) -> int:
    """fill-mask, qa, classify, ner: run the task's pipeline and print its answer (JSON with --json)."""
    from .pipelines import pipeline

    task = {"fill-mask": "fill-mask", "qa": "question-answering", "classify": "text-classification",
            "ner": "token-classification"}[args.command]
    pipe = pipeline(task, args.model, local_files_only=args.offline)
    started = time.perf_counter()
    if task == "fill-mask":
        result = pipe(args.text, top_k=args.top_k)
    elif task == "question-answering":
        result = pipe(args.question, args.context, top_k=args.top_k,
                      handle_impossible_answer=args.handle_impossible_answer)
    elif task == "text-classification":
        result = pipe(args.text, top_k=args.top_k)
    else:
        result = pipe(args.text, aggregation_strategy=args.aggregation)
    elapsed_ms = (time.perf_counter() - started) * 1e3
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    for item in result if isinstance(result, list) else [result]:
        for row in item if isinstance(item, list) else [item]:
            print("  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    print(f"({type(pipe.model).__name__}, {elapsed_ms:.0f} ms)")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    """Tokenize a text, show the work, run the encoder, print the output's shape and a few values."""
    from .modeling import MobileBertModel
    from .pipelines import load_tokenizer

    folder = resolve_model_folder(args.model, local_files_only=args.offline)
    model = MobileBertModel.from_pretrained(folder)
    tokenizer = load_tokenizer(folder, model.config.vocab_size)
    enc = tokenizer(args.text)
    ids = np.array([enc["input_ids"]], dtype=np.int64)
    out = model(ids, token_type_ids=np.array([enc["token_type_ids"]]), **OWN_CALL)
    report = {"tokens": tokenizer.convert_ids_to_tokens([int(i) for i in ids[0]]), "input_ids": ids[0].tolist(),
              "last_hidden_state_shape": list(out.last_hidden_state.shape),
              "cls_vector_first_values": [round(float(v), 4) for v in out.last_hidden_state[0, 0, :8]]}
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(tokenizer.explain(args.text))  # text, normalized text, words, pieces, tokens, ids
        print(f"last_hidden_state {tuple(report['last_hidden_state_shape'])}; [CLS][:8] = "
              f"{report['cls_vector_first_values']}")
    return 0


def print_report(report: dict) -> None:
    print(f"{report['class']} from {report['model']} ({report['parameters'] / 1e6:.1f}M parameters, "
          f"backend {report['backend']})")
    print("input:  " + " ".join(report["input_tokens"]))
    for name, shape in report["output_shapes"].items():
        print(f"  {name:<24} {tuple(shape)}")
    for position, predictions in report.get("masked_predictions", {}).items():
        best = ", ".join(f"{p['token']} ({p['score']:.3f})" for p in predictions)
        print(f"position {position}: {best}")
    if "is_next_sentence" in report:
        print(f"P(segment B follows A) = {report['is_next_sentence']:.3f}")
    for item in report.get("labels", []):
        print(f"  {item['label']:<20} {item['score']:.4f}")
    if "token_labels" in report:
        print("  " + " ".join(f"{t}/{lab}" for t, lab in report["token_labels"]))
    if "span" in report:
        print(f"answer span {report['span']['start']}..{report['span']['end']}: {' '.join(report['span']['tokens'])}")
    print(f"load {report['timing']['load_s']:.2f} s, forward {report['timing']['forward_ms']:.1f} ms")


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (for --top-k, --layers ...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r:.40} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def token_id(text: str) -> int:
    """argparse type: a token id, a whole number in [0, 2**63) (the vocabulary bound is checked by the model)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r:.40} is not a token id (a whole number)") from None
    if not 0 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"{text:.40} is not a token id: ids are whole numbers from 0 to the "
                                         "vocabulary size - 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minimobilebert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="write a random-weight checkpoint of the published configuration")
    init.add_argument("folder")
    init.add_argument("--head", choices=list(HEADS), default="pretraining")
    init.add_argument("--layers", type=positive_int, default=24, help="num_hidden_layers (default: 24, as published)")
    init.add_argument("--seed", type=int, default=0)
    init.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    init.set_defaults(func=cmd_init)

    def model_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--model", default=DEFAULT_MODEL,
                             help=f"a local checkpoint folder or a hub id (default: {DEFAULT_MODEL})")
        command.add_argument("--offline", action="store_true", help="never use the network, only the local cache")
        command.add_argument("--json", action="store_true", help="print JSON")

    fill = commands.add_parser("fill-mask", help="predict the [MASK] tokens of a text")
    fill.add_argument("text")
    fill.add_argument("--top-k", type=positive_int, default=5)
    qa = commands.add_parser("qa", help="extract the answer to a question from a context")
    qa.add_argument("--question", required=True)
    qa.add_argument("--context", required=True)
    qa.add_argument("--top-k", type=positive_int, default=1)
    qa.add_argument("--handle-impossible-answer", action="store_true")
    classify = commands.add_parser("classify", help="label a text with a sequence-classification checkpoint")
    classify.add_argument("text")
    classify.add_argument("--top-k", type=positive_int, default=1)
    ner = commands.add_parser("ner", help="label the tokens / entities of a text")
    ner.add_argument("text")
    ner.add_argument("--aggregation", choices=["none", "simple", "first", "average", "max"], default="simple")
    for command in (fill, qa, classify, ner):
        model_options(command)
        command.set_defaults(func=cmd_pipeline)
    encode = commands.add_parser("encode", help="tokenize (showing the work) and run the encoder")
    encode.add_argument("text")
    model_options(encode)
    encode.set_defaults(func=cmd_encode)

    run = commands.add_parser("run", help="run a checkpoint on token ids and print what it computed")
    model_options(run)
    run.add_argument("--ids", type=token_id, nargs="+", required=True, help="token ids, e.g. 101 ... 102")
    run.add_argument("--head", choices=["auto", *HEADS], default="auto",
                     help="model class (default: from config.json's architectures)")
    run.add_argument("--top-k", type=positive_int, default=5)
    run.set_defaults(func=cmd_run)

    from .embed_command import add_embedding_commands  # embed, similarity (sentence embeddings)

    add_embedding_commands(commands, positive_int)

    from .corpus.command import add_map_command  # Dask itself is imported only when `map` runs

    add_map_command(commands)
    return parser


DEBUG_ENV = "MINIMOBILEBERT_DEBUG"  # set to 1 to see the traceback of an error instead of the one-line message
EXIT_USER_ERROR, EXIT_BUG, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 2, 1, 130, 141  # 130/141: 128 + SIGINT/SIGPIPE


def one_line(error: BaseException) -> str:
    """An error's message on one line (checkpoint mismatch reports list one problem per line)."""
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__


def _quiet_stdout() -> None:
    """After a closed pipe (`minimobilebert ... | head -1`): point stdout at /dev/null, so the interpreter's
    final flush has nowhere to fail and prints no 'Exception ignored' traceback."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a descriptor (captured in tests)
        pass


def main(argv: list[str] | None = None) -> int:
    """Run one command. A problem with the user's files or arguments is one line on stderr and exit code 2;
    Ctrl-C is one line and 130; a closed stdout pipe is a quiet 141; anything else is a bug, reported as
    one line (MINIMOBILEBERT_DEBUG=1 shows its traceback) and exit code 1. Never a traceback by default."""
    import os

    from . import startup

    startup.restore()  # Ctrl-C is a KeyboardInterrupt again, caught below
    debug = os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")
    python_format = warnings.formatwarning
    if not debug:  # a warning is one line too, not Python's "file:line: Category" plus a line of our code
        warnings.formatwarning = lambda message, *_, **__: f"minimobilebert: warning: {one_line(message)}\n"
    # what the package logs (the tokenizer's "longer than model_max_length", as HF's) is such a line as well,
    # not the bare message Python prints for a logger without a handler
    log, handler = logging.getLogger("minimobilebert"), OneLineHandler()
    log.addHandler(handler)
    try:
        return _run(argv, debug)
    finally:
        warnings.formatwarning = python_format
        log.removeHandler(handler)


class OneLineHandler(logging.Handler):
    """Log records of WARNING and above as `minimobilebert: warning: <one line>` on stderr (read at emit
    time, so a test's captured stderr gets them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        print(f"minimobilebert: warning: {one_line(record.getMessage())}", file=sys.stderr)


def _run(argv: list[str] | None, debug: bool) -> int:
    try:
        args = build_parser().parse_args(argv)  # argparse reports bad arguments itself (usage, exit code 2)
        with warnings.catch_warnings():
            # a checkpoint without some of the encoder's weights: transformers (and the library) run it on random
            # ones with a warning; a command would print meaningless answers, so it stops
            warnings.filterwarnings("error", category=MissingWeightsWarning)
            code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler, not at interpreter exit
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        if debug:
            raise
        print("minimobilebert: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (MiniMobileBertError, MissingWeightsWarning, ValueError, OSError, ImportError, MemoryError) as e:
        # Ours name the problem and the fix; OSError / ImportError / ValueError from a user's path, a missing
        # extra or a pipeline argument do too. MemoryError: the input is too large for this machine.
        if isinstance(e, ImportError) and (e.name or "").startswith("minimobilebert"):
            return main_bug(e, debug)  # our own module failed to import: a bug, not the user's setup
        if debug:
            raise
        prefix = "out of memory: " if isinstance(e, MemoryError) else ""
        print(f"minimobilebert: error: {prefix}{one_line(e)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        return main_bug(e, debug)


def main_bug(error: Exception, debug: bool) -> int:
    """An exception no check foresaw: one line saying so (the traceback with MINIMOBILEBERT_DEBUG=1)."""
    if debug:
        raise error
    print(f"minimobilebert: internal error (a bug, please report it): {type(error).__name__}: {one_line(error)}. "
          f"Rerun with {DEBUG_ENV}=1 to see the traceback", file=sys.stderr)
    return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
