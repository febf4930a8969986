"""Hostile files and careless input: every case is refused with our error, in bounded memory, without a
signal, without running the file's code; the CLI answers with one line and exit code 2.

The library cases run in child processes under a memory cap (RLIMIT_AS) and a timeout; each reports its
outcome and the child's peak RSS. The files are built by hand (tests/hostile_files.py): pickles from
opcodes, zip archives field by field, safetensors headers of any shape, sparse files, FIFOs.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import minimobilebert as mm
from minimobilebert.checkpoint import load_state_dict
from minimobilebert.cli import main
from minimobilebert.errors import CheckpointError, ConfigError, InputError, MiniMobileBertError

from conftest import SMALL
from hostile_files import (MiB, bin_of, bomb_stream, global_, make_fifo, op, safetensors_bytes, safetensors_of,
                           sparse_file, state_pickle, storage_ref, tensor_ref, torch_members, write_bin, zip_archive)

CONFIG = mm.MobileBertConfig(**dict(SMALL, num_hidden_layers=1))
STATE = mm.MobileBertModel(CONFIG, seed=0).state_dict()
WORDS = "embeddings.word_embeddings.weight"
MEMORY_CAP = 3 << 30  # RLIMIT_AS of each child: address space, which also holds the interpreter's libraries
# Peak resident memory of a child running hostile cases (every file is under 10 MB). The issue asks for under
# 1.5 GiB; we hold 512 MiB (measured: ~35 MiB), so that a bomb that half-works (a 1 GiB inflate) still fails.
RSS_LIMIT_KB = 512 * 1024
CHILD_ENV = dict(os.environ, MINIMOBILEBERT_BACKEND="numpy", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                 HOSTILE_MEMORY_CAP=str(MEMORY_CAP))
CHILD_ENV.pop("MINIMOBILEBERT_DEBUG", None)

# Runs cases in a child: cap the address space, then load each case and print one JSON line per case.
LIBRARY_RUNNER = textwrap.dedent("""
    import json, os, resource, sys, traceback
    cap = int(os.environ["HOSTILE_MEMORY_CAP"])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    def peak_kb():  # this process's peak RSS: VmHWM (ru_maxrss would include the parent's, from before exec)
        try:
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        except (OSError, StopIteration):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import minimobilebert as mm
    from minimobilebert.checkpoint import load_state_dict
    from minimobilebert.errors import MiniMobileBertError
    print(json.dumps({"baseline_kb": peak_kb()}), flush=True)
    for case in json.loads(sys.stdin.read()):
        print(json.dumps({"start": case["id"]}), flush=True)
        try:
            if case["call"] == "load_state_dict":
                load_state_dict(case["path"])
            else:
                getattr(mm, case["call"]).from_pretrained(case["path"])
            result = {"outcome": "loaded", "message": ""}
        except MiniMobileBertError as e:
            result = {"outcome": type(e).__name__, "message": str(e)}
        except BaseException as e:
            result = {"outcome": "other " + type(e).__name__, "message": traceback.format_exc()}
        result.update(id=case["id"], maxrss_kb=peak_kb())
        print(json.dumps(result), flush=True)
""")


def run_cases(cases: list[dict], timeout: float = 60) -> dict[str, dict]:
    """Run library cases in one capped child; {case id: result}. A signal or a hang fails the test, naming
    the case that was running."""
    proc = subprocess.run([sys.executable, "-c", LIBRARY_RUNNER], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=timeout, env=CHILD_ENV)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    started = [line["start"] for line in lines if "start" in line]
    assert proc.returncode == 0, (f"child died with {proc.returncode} (signal {-proc.returncode if proc.returncode < 0 else None}) "
                                  f"during case {started[-1] if started else None}: {proc.stderr[-2000:]}")
    return {line["id"]: line for line in lines if "id" in line}


def folder_with(tmp: Path, name: str, files: dict[str, bytes] | None = None) -> Path:
    folder = tmp / name
    folder.mkdir()
    CONFIG.save_pretrained(folder)
    for file, raw in (files or {}).items():
        (folder / file).write_bytes(raw)
    return folder


def bin_with(extra: dict[str, bytes] | None = None, drop: str | None = None, storages: dict | None = None,
             pickle_bytes: bytes | None = None) -> bytes:
    """pytorch_model.bin bytes: the valid STATE (minus `drop`) plus `extra` records, which may use the
    storages '0' (the first tensor's) and those in `storages`."""
    state = {k: v for k, v in STATE.items() if k != drop}
    payload, raws = bin_of(state)
    if extra:
        payload = payload[:-1] + b"(" + b"".join(op(k) + v for k, v in extra.items()) + b"u."
    raws.update(storages or {})
    return zip_archive(torch_members(pickle_bytes if pickle_bytes is not None else payload, raws))


FIRST = next(iter(STATE))  # the tensor in storage "0"
F0 = storage_ref("0", "FloatStorage", STATE[FIRST].size)
CANARY_CODE = "import pathlib; pathlib.Path({!r}).write_text('ran')"


def malicious(canary: Path, module: str = "builtins", name: str = "exec") -> bytes:
    """A pickle whose first value calls module.name(<code that writes the canary>)."""
    return (b"\x80\x02" + global_("collections", "OrderedDict") + b")R(" + op(WORDS) + global_(module, name)
            + b"(" + op(CANARY_CODE.format(str(canary))) + b"tR" + b"u.")


def library_cases(tmp: Path) -> list[tuple[str, str, Path, str, str]]:
    """(id, call, path, expected outcome, regex the message must match)."""
    outside = tmp / "outside.safetensors"
    outside.write_bytes(b"SECRET-BYTES-OF-ANOTHER-FILE" * 10)
    canary = tmp / "canary"
    shape = STATE[WORDS].shape
    cases = []

    def case(name, files, outcome="CheckpointError", pattern="", call="MobileBertModel"):
        folder = folder_with(tmp, name, files)
        cases.append((name, call, folder, outcome, pattern))
        return folder

    # --- tensor records
    case("tensor_as_storage", {"pytorch_model.bin": bin_with(
        {"x": tensor_ref(tensor_ref(F0, 0, (4,), (1,)), 0, (10**6, 10**6), (10**6, 1))})}, pattern="not a storage")
    case("stride_out_of_range", {"pytorch_model.bin": bin_with({"x": tensor_ref(F0, 0, (4,), (10**9,))})},
         pattern="reaches byte")
    case("offset_out_of_range", {"pytorch_model.bin": bin_with({"x": tensor_ref(F0, 10**12, (1,), (1,))})},
         pattern="reaches byte")
    case("huge_size", {"pytorch_model.bin": bin_with({"x": tensor_ref(F0, 0, (10**6, 10**6), (10**6, 1))})},
         pattern="reaches byte")
    case("negative_stride", {"pytorch_model.bin": bin_with({"x": tensor_ref(F0, 0, (4,), (-1,))})},
         pattern="non-negative")
    case("float_size", {"pytorch_model.bin": bin_with({"x": tensor_ref(F0, 0, (4.0,), (1,))})},
         pattern="non-negative")
    case("stride0_expected_name", {"pytorch_model.bin": bin_with(
        {WORDS: tensor_ref(F0, 0, (10**6, 10**6), (0, 0))})}, outcome="CheckpointShapeError",
        pattern=rf"{WORDS}: checkpoint \(1000000")
    # a name the model does not use is left out (with a warning, as transformers): its 10**14 elements are
    # never materialised, and the missing weights are drawn at random
    case("stride0_unexpected_name", {"pytorch_model.bin": bin_with(
        {"buffer.x": tensor_ref(F0, 0, (10**7, 10**7), (0, 0))})}, outcome="loaded")
    case("stride0_position_ids", {"pytorch_model.bin": bin_with(
        {"embeddings.position_ids": tensor_ref(storage_ref("p", "LongStorage", 40), 0, (10**6, 40), (0, 1))},
        storages={"p": np.arange(40).tobytes()})}, outcome="loaded")
    case("overlapping_strides", {"pytorch_model.bin": bin_with(
        {"embeddings.position_ids": tensor_ref(F0, 0, (30, 30), (1, 1))})}, outcome="loaded")
    case("numel_lies", {"pytorch_model.bin": bin_with(
        {"x": tensor_ref(storage_ref("0", "FloatStorage", 10**12), 0, (1,), (1,))})}, pattern="declared with")
    case("storage_two_dtypes", {"pytorch_model.bin": bin_with(
        {"x": tensor_ref(storage_ref("0", "DoubleStorage", 1), 0, (1,), (1,))})}, pattern="declared both")
    case("storage_missing", {"pytorch_model.bin": bin_with(
        {"x": tensor_ref(storage_ref("nope", "FloatStorage", 1), 0, (1,), (1,))})}, pattern="missing from")
    case("non_string_key", {"pytorch_model.bin": bin_with({7: tensor_ref(F0, 0, (1,), (1,))})},
         pattern="key 7 of type int")
    case("not_a_dict", {"pytorch_model.bin": bin_with(pickle_bytes=b"\x80\x02" + op((1, 2)) + b".")},
         pattern="not hold a state dict")
    case("empty_dict", {"pytorch_model.bin": bin_with(pickle_bytes=state_pickle({}))}, pattern="empty dict")
    case("value_not_tensor", {"pytorch_model.bin": bin_with({"x": op("a string")})}, pattern="not a tensor")
    # BUILD on a record: try to change its fields after it was checked
    case("build_on_record", {"pytorch_model.bin": bin_with(
        {"x": tensor_ref(F0, 0, (1,), (1,)) + b"N}" + op("offset") + op(10**9) + b"s\x86b"})},
         pattern="cannot unpickle")
    tampered_type = (b"(" + op("storage") + global_("torch", "FloatStorage") + b"}" + op("name") + op("Evil")
                     + b"sb" + op("0") + op("cpu") + op(1) + b"tQ")
    case("build_on_storage_type", {"pytorch_model.bin": bin_with({"x": tensor_ref(tampered_type, 0, (1,), (1,))})},
         pattern="persistent id")
    # --- code in the pickle: refused before anything is called; the canary is never written
    for module, name in [("builtins", "exec"), ("posix", "system"), ("subprocess", "check_call"),
                         ("builtins", "eval"), ("numpy", "load"), ("torch", "load")]:
        case(f"code_{module}_{name}", {"pytorch_model.bin": bin_with(pickle_bytes=malicious(canary, module, name))},
             pattern=f"refusing .*`{module}.{name}`")
    case("legacy_pickle_with_code", {"pytorch_model.bin": malicious(canary) + bytes(16)}, pattern="legacy")
    # --- zip archives
    payload, raws = bin_of(STATE)
    members = torch_members(payload, raws)
    bomb = bomb_stream(1 << 30)  # 1 GiB of zeros in about 1 MB
    case("zip_bomb", {"pytorch_model.bin": zip_archive([
        dict(name=m["name"], method=8, payload=bomb, size=1 << 30, crc=0) if m["name"] == "archive/data/0" else m
        for m in members])}, pattern="zip bomb")
    case("zip_bomb_unused_member", {"pytorch_model.bin": zip_archive(members + [  # never read: costs nothing
        dict(name="archive/data/bomb", method=8, payload=bomb, size=1 << 30, crc=0)])}, outcome="loaded")
    lying = dict(name="archive/data/0", method=8, payload=bomb, size=STATE[FIRST].nbytes, crc=0)
    case("zip_bomb_lying_size", {"pytorch_model.bin": zip_archive([lying if m["name"] == "archive/data/0" else m
                                                                   for m in members])},
         pattern="more than the")
    case("pickle_over_limit", {"pytorch_model.bin": zip_archive(torch_members(b"\x80\x02" + b"N" * (9 * MiB) + b".",
                                                                               {}))}, pattern="over the limit")
    bad_crc = zip_archive([dict(m, crc=zlib.crc32(m["data"]) ^ 1) if m["name"] == "archive/data/0" else m
                           for m in members])
    case("bad_crc", {"pytorch_model.bin": bad_crc}, pattern="CRC")
    case("bzip2_method", {"pytorch_model.bin": zip_archive([dict(m, method=12, payload=m["data"])
                                                            if m["name"] == "archive/data/0" else m
                                                            for m in members])}, pattern="method 12")
    case("encrypted", {"pytorch_model.bin": zip_archive([dict(m, flags=1) for m in members])}, pattern="encrypted")
    deflated = zip_archive([dict(m, method=8) for m in members])
    case("deflated_valid", {"pytorch_model.bin": deflated}, outcome="loaded")
    corrupt = bytearray(deflated)
    start = deflated.index(b"archive/data/0") + len("archive/data/0")
    corrupt[start + 2:start + 40] = b"\xff" * 38
    case("corrupt_deflate", {"pytorch_model.bin": bytes(corrupt)}, pattern="corrupt deflate|CRC|inflates")
    whole = zip_archive(members)
    case("truncated_zip", {"pytorch_model.bin": whole[: len(whole) // 2]}, pattern="not a readable zip")
    case("member_past_end", {"pytorch_model.bin": zip_archive([dict(m, size=10**9) if m["name"] == "archive/data/0"
                                                               else m for m in members])},
         pattern="stored uncompressed but declares")
    # --- safetensors
    header = {WORDS: {"dtype": "F32", "shape": [1 << 29], "data_offsets": [0, 1 << 31]}}
    head = safetensors_bytes(header)
    sparse = case("sparse_safetensors", {}, outcome="CheckpointShapeError", pattern=rf"{WORDS}: checkpoint \(536870912")
    sparse_file(sparse / "model.safetensors", head, len(head) + (1 << 31))
    case("offsets_past_end", {"model.safetensors": safetensors_bytes(header)}, pattern="truncated")
    case("f8_dtype", {"model.safetensors": safetensors_bytes(
        {WORDS: {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0")}, pattern="F8_E4M3")
    case("header_too_long", {"model.safetensors": (10**12).to_bytes(8, "little") + b"{}"}, pattern="header claims")
    case("header_list", {"model.safetensors": safetensors_bytes(b"[1, 2]  ")}, pattern="neither safetensors|not a JSON object")
    case("header_bad_json", {"model.safetensors": safetensors_bytes(b"{\"a\": ")}, pattern="not valid JSON")
    case("header_duplicate", {"model.safetensors": safetensors_bytes(
        b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
        b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', bytes(4))}, pattern="twice")
    case("shape_negative", {"model.safetensors": safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, bytes(4))}, pattern="non-negative")
    case("shape_mismatch_offsets", {"model.safetensors": safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, bytes(4))}, pattern="span")
    case("overlapping_tensors", {"model.safetensors": safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
         "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4))}, pattern="overlap")
    case("entry_not_object", {"model.safetensors": safetensors_bytes({"a": [1, 2]})}, pattern="must be an object")
    nan_state = dict(STATE)
    nan_state["encoder.layer.0.attention.self.query.weight"] = STATE[
        "encoder.layer.0.attention.self.query.weight"].copy()
    nan_state["encoder.layer.0.attention.self.query.weight"][0, 0] = np.nan
    case("nan_weight", {"model.safetensors": safetensors_of(nan_state)},
         pattern="attention.self.query.weight holds 1 NaN")
    inf_state = dict(STATE, **{WORDS: np.full(STATE[WORDS].shape, np.inf, np.float32)})
    case("inf_weight_bin", {"pytorch_model.bin": zip_archive(torch_members(*bin_of(inf_state)))},
         pattern=f"{WORDS} holds .* NaN/Inf")
    # --- sharded indexes: containment, recursion, shapes
    shard = safetensors_of(STATE)

    def index(weight_map) -> bytes:
        return json.dumps({"metadata": {}, "weight_map": weight_map}).encode()

    case("index_traversal", {"model.safetensors.index.json": index({WORDS: "../outside.safetensors"})},
         pattern="points outside the folder")
    case("index_absolute", {"model.safetensors.index.json": index({WORDS: "/etc/passwd"})},
         pattern="points outside the folder")
    link = case("index_symlink_out", {"model.safetensors.index.json": index({WORDS: "shard.safetensors"})},
                pattern="neither safetensors")
    (link / "shard.safetensors").symlink_to(outside)
    case("index_self", {"model.safetensors.index.json": index({WORDS: "model.safetensors.index.json"})},
         pattern="index file")
    case("index_other_index", {"model.safetensors.index.json": index({WORDS: "b.index.json"}),
                               "b.index.json": index({WORDS: "model.safetensors.index.json"})},
         pattern="index file")
    case("index_empty_file", {"model.safetensors.index.json": b""}, pattern="is empty")
    case("index_empty_map", {"model.safetensors.index.json": index({})}, pattern="weight_map is empty")
    case("index_map_list", {"model.safetensors.index.json": json.dumps({"weight_map": [1]}).encode()},
         pattern="must be an object mapping")
    case("index_map_values", {"model.safetensors.index.json": index({WORDS: 3})}, pattern="must be an object mapping")
    case("index_top_list", {"model.safetensors.index.json": b"[]"}, pattern="should hold a JSON object")
    case("index_not_utf8", {"model.safetensors.index.json": b"\xff\xfe{}"}, pattern="not UTF-8")
    case("index_shard_incomplete", {"model.safetensors.index.json": index({WORDS: "a.safetensors",
                                                                          "other.weight": "a.safetensors"}),
                                    "a.safetensors": shard}, pattern="does not")
    fifo_shard = case("index_fifo_shard", {"model.safetensors.index.json": index({WORDS: "f.safetensors"})},
                      pattern="a FIFO")
    make_fifo(fifo_shard / "f.safetensors")
    make_fifo(case("fifo_weights", {}, pattern="a FIFO") / "model.safetensors")
    (case("dev_zero_weights", {}, pattern="a device") / "model.safetensors").symlink_to("/dev/zero")
    fifo_config = case("fifo_config", {"model.safetensors": shard}, outcome="ConfigError", pattern="FIFO")
    (fifo_config / "config.json").unlink()
    make_fifo(fifo_config / "config.json")
    zero_config = case("dev_zero_config", {"model.safetensors": shard}, outcome="ConfigError", pattern="device")
    (zero_config / "config.json").unlink()
    (zero_config / "config.json").symlink_to("/dev/zero")
    # Tokenizer folders: many added tokens load in time linear in their number (rebuilding the matchers per
    # token made 1000 take 9 s and 4000 take 160 s); past MAX_ADDED, one error naming the file's field.
    from minimobilebert.tokenization.added import MAX_ADDED
    from minimobilebert.tokenizer import VOCAB_FILE

    def tokenizer_files(n: int) -> dict[str, bytes]:
        decoder = {str(30522 + i): {"content": f"tok{i}x", "special": i % 2 == 0} for i in range(n)}
        return {"vocab.txt": Path(VOCAB_FILE).read_bytes(),
                "tokenizer_config.json": json.dumps({"added_tokens_decoder": decoder}).encode()}

    case("tokenizer_20k_added_tokens", tokenizer_files(20_000), outcome="loaded", call="MobileBertTokenizer")
    case("tokenizer_too_many_added_tokens", tokenizer_files(MAX_ADDED + 1), outcome="TokenizerError",
         pattern="tokenizer_config.json.*added tokens, over the limit", call="MobileBertTokenizer")
    from minimobilebert.tokenization.loading import MAX_TOKEN_LIST

    never_split = {"vocab.txt": Path(VOCAB_FILE).read_bytes(), "tokenizer_config.json": json.dumps(
        {"never_split": [f"w{i}" for i in range(MAX_TOKEN_LIST + 1)]}).encode()}
    case("tokenizer_too_many_never_split", never_split, outcome="TokenizerError",
         pattern="tokenizer_config.json.*never_split.*over the limit", call="MobileBertTokenizer")
    # Long tokens: each added token and never_split word becomes part of one regex, ~100 MB and ~1 s to
    # compile per million characters. Before the caps, each of these three files (10-15 MB, under the JSON
    # size limit) ran out of the child's memory cap compiling it, and 1000 added tokens of 10k characters
    # took 9 s.
    long_words = [f"{i:05d}" + "y" * 9995 for i in range(1000)]  # 10M characters
    vocab = Path(VOCAB_FILE).read_bytes()
    case("tokenizer_never_split_one_10m_word", {"vocab.txt": vocab, "tokenizer_config.json": json.dumps(
        {"never_split": ["x" * 10_000_000]}).encode()}, outcome="TokenizerError",
         pattern="never_split.*10,000,000 characters long.*at most 10,000", call="MobileBertTokenizer")
    case("tokenizer_never_split_10m_characters", {"vocab.txt": vocab, "tokenizer_config.json": json.dumps(
        {"never_split": long_words}).encode()}, outcome="TokenizerError",
         pattern="tokenizer_config.json: 'never_split': .*total 10,000,000 characters, over the limit",
         call="MobileBertTokenizer")
    case("tokenizer_added_10m_characters", {"vocab.txt": vocab, "tokenizer_config.json": json.dumps(
        {"added_tokens_decoder": {str(30522 + i): {"content": w} for i, w in enumerate(long_words)}}).encode()},
         outcome="TokenizerError", pattern="added_tokens_decoder: .*total 10,000,000 characters, over the limit",
         call="MobileBertTokenizer")
    case("tokenizer_additional_special_10m_characters", {"vocab.txt": vocab, "special_tokens_map.json": json.dumps(
        {"additional_special_tokens": long_words}).encode()}, outcome="TokenizerError",
         pattern="special_tokens_map.json: 'additional_special_tokens': .*over the limit", call="MobileBertTokenizer")
    from minimobilebert.tokenization.loading import MAX_VOCAB

    huge_vocab = b"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n" + b"x\n" * MAX_VOCAB  # 2 MB, a million lines
    case("tokenizer_vocab_too_many_lines", {"vocab.txt": huge_vocab}, outcome="TokenizerError",
         pattern="vocab.txt.*lines, over the limit", call="MobileBertTokenizer")
    junk = random.Random(0).randbytes(9 * MiB)
    case("random_9mb", {"model.safetensors": junk}, pattern="neither safetensors|truncated|corrupt")
    case("empty_weights", {"model.safetensors": b""}, pattern="empty")
    return cases


BEFORE: dict[str, dict] = {}


def snapshot(folder: Path) -> dict[str, tuple]:
    """Names, kinds, sizes and modification times of a folder's entries (symlinks and FIFOs not followed)."""
    return {f.name: (f.lstat().st_mode, f.lstat().st_size, f.lstat().st_mtime_ns) for f in folder.iterdir()}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    cases = library_cases(tmp)
    BEFORE.update({name: snapshot(path) for name, _, path, _, _ in cases})
    results = run_cases([dict(id=name, call=call, path=str(path)) for name, call, path, _, _ in cases])
    return tmp, cases, results


def test_every_hostile_file_is_refused_with_our_error(hostile):
    _, cases, results = hostile
    wrong = []
    for name, _, _, outcome, pattern in cases:
        got = results.get(name)
        import re

        if got is None or got["outcome"] != outcome or (pattern and not re.search(pattern, got["message"])):
            wrong.append(f"{name}: expected {outcome} /{pattern}/, got {got and got['outcome']}: "
                         f"{got and got['message'][:600]}")
    assert not wrong, "\n".join(wrong)


def test_no_hostile_file_costs_memory(hostile):
    _, _, results = hostile
    peak = max(r["maxrss_kb"] for r in results.values())
    assert peak < RSS_LIMIT_KB, f"peak RSS {peak / 1024:.0f} MiB over the hostile cases"


def test_no_code_from_a_pickle_ever_runs(hostile):
    tmp, _, results = hostile
    assert not (tmp / "canary").exists(), "a pickle's payload ran"
    assert sum(name.startswith("code_") for name in results) == 6


def test_errors_name_the_file_and_never_echo_an_outside_file(hostile):
    _, cases, results = hostile
    for name, _, path, outcome, _ in cases:
        message = results[name]["message"]
        assert "SECRET-BYTES" not in message, name
        if outcome in ("CheckpointError", "CheckpointShapeError") and not name.startswith("code_"):
            assert str(path) in message or "refusing" in message, f"{name}: {message}"


def test_loading_never_changes_the_users_files(hostile):
    _, cases, _ = hostile
    for name, _, path, _, _ in cases:  # every case folder still holds what the test wrote, untouched
        assert snapshot(Path(path)) == BEFORE[name], name
    # and byte for byte, on a valid checkpoint
    folder = next(p for n, _, p, _, _ in cases if n == "deflated_valid")
    before = {f.name: f.read_bytes() for f in Path(folder).iterdir()}
    mm.MobileBertModel.from_pretrained(folder)
    assert {f.name: f.read_bytes() for f in Path(folder).iterdir()} == before


def test_stride_zero_and_overlapping_records_are_exact_views(tmp_path):
    """Stride-0 and overlapping (in-bounds) records are what torch would give: checked against as_strided on
    the storage the test wrote; they stay read-only views (no copy) until a model keeps them."""
    storage = np.arange(12, dtype=np.float32)
    extra = {"expanded": tensor_ref(storage_ref("s", "FloatStorage", 12), 2, (1000, 3), (0, 1)),
             "overlap": tensor_ref(storage_ref("s", "FloatStorage", 12), 1, (4, 3), (2, 1)),
             "scalar": tensor_ref(storage_ref("s", "FloatStorage", 12), 11, (), ()),
             "empty": tensor_ref(storage_ref("s", "FloatStorage", 12), 12, (0, 5), (5, 1))}
    path = tmp_path / "x.bin"
    path.write_bytes(zip_archive(torch_members(state_pickle(extra), {"s": storage.tobytes()})))
    state = load_state_dict(str(path))
    np.testing.assert_array_equal(state["expanded"], np.broadcast_to(storage[2:5], (1000, 3)))
    np.testing.assert_array_equal(state["overlap"], np.lib.stride_tricks.as_strided(storage[1:], (4, 3), (8, 4)))
    assert state["scalar"] == 11 and state["empty"].shape == (0, 5)
    assert state["expanded"].strides == (0, 4) and not state["expanded"].flags.writeable


def test_peak_memory_of_a_valid_load_is_about_its_size(tmp_path):
    """Loading a valid checkpoint costs about its size on disk (mapped, then copied chunk by chunk)."""
    config = mm.MobileBertConfig.published(num_hidden_layers=4)
    model = mm.MobileBertModel(config, seed=0)
    folders = {}
    for kind in ("safetensors", "bin"):
        folder = tmp_path / kind
        folder.mkdir()
        config.save_pretrained(folder)
        if kind == "safetensors":
            model.save_pretrained(folder)
        else:
            write_bin(folder / "pytorch_model.bin", model.state_dict())
        folders[kind] = folder
    runner = LIBRARY_RUNNER
    for kind, folder in folders.items():
        size = sum(f.stat().st_size for f in folder.iterdir())
        proc = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, timeout=60, env=CHILD_ENV,
                              input=json.dumps([dict(id=kind, call="MobileBertModel", path=str(folder))]))
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        baseline, result = lines[0]["baseline_kb"] * 1024, lines[-1]
        assert result["outcome"] == "loaded", result
        grew = result["maxrss_kb"] * 1024 - baseline
        assert grew <= 1.2 * size, f"{kind}: loading {size / MiB:.1f} MiB raised peak RSS by {grew / MiB:.1f} MiB"


def test_hub_cache_snapshot_of_symlinks_into_blobs_loads(tmp_path, monkeypatch):
    """huggingface_hub's layout: snapshots/<commit>/<file> are symlinks to ../../blobs/<hash>. A sharded index
    there names its shards by their snapshot names; they resolve (as symlinks) outside the snapshot folder,
    and that is allowed: containment is of the names, not of the link targets."""
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo = tmp_path / "hub" / "models--google--mobilebert-uncased"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "blobs").mkdir()
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    names = sorted(STATE)
    shards = {"model-00001-of-00002.safetensors": names[:10], "model-00002-of-00002.safetensors": names[10:]}
    CONFIG.save_pretrained(tmp_path)
    files = {"config.json": (tmp_path / "config.json").read_bytes(),
             "model.safetensors.index.json": json.dumps(
                 {"weight_map": {k: s for s, keys in shards.items() for k in keys}}).encode()}
    files.update({s: safetensors_of({k: STATE[k] for k in keys}) for s, keys in shards.items()})
    for i, (name, raw) in enumerate(files.items()):
        (repo / "blobs" / f"blob{i}").write_bytes(raw)
        (snapshot / name).symlink_to(Path("..") / ".." / "blobs" / f"blob{i}")
    model = mm.MobileBertModel.from_pretrained("google/mobilebert-uncased", cache_dir=str(tmp_path / "hub"))
    for k, v in STATE.items():
        np.testing.assert_array_equal(model.params[k], v)


# ------------------------------------------------------------------------------------------------ the CLI

CLI_RUNNER = textwrap.dedent("""
    import os, resource, sys
    cap = int(os.environ["HOSTILE_MEMORY_CAP"])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from minimobilebert.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def cli(*argv: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The command line in a capped child process, as a user runs it."""
    return subprocess.run([sys.executable, "-c", CLI_RUNNER, *argv], capture_output=True, text=True,
                          timeout=timeout, env=dict(CHILD_ENV, **(env or {})))


def assert_one_line_error(proc: subprocess.CompletedProcess, pattern: str) -> None:
    import re

    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("minimobilebert: error: ") and re.search(pattern, proc.stderr), proc.stderr


@pytest.mark.parametrize("name, pattern", [("tensor_as_storage", "not a storage"), ("nan_weight", "NaN"),
                                           ("zip_bomb", "zip bomb"), ("fifo_config", "FIFO"),
                                           ("index_traversal", "outside the folder")])
def test_cli_turns_a_hostile_file_into_one_line(hostile, name, pattern):
    _, cases, _ = hostile
    folder = next(p for n, _, p, _, _ in cases if n == name)
    assert_one_line_error(cli("run", "--model", str(folder), "--ids", "2", "3", "4"), pattern)


def test_cli_reports_an_unknown_backend_in_one_line(hostile):
    _, cases, _ = hostile
    folder = next(p for n, _, p, _, _ in cases if n == "deflated_valid")
    proc = cli("run", "--model", str(folder), "--ids", "2", "3", env={"MINIMOBILEBERT_BACKEND": "bogus"})
    assert_one_line_error(proc, "bogus")


@pytest.mark.parametrize("lines", [100_000, 3])
def test_cli_closed_pipe_is_quiet(lines):
    """`minimobilebert ... | head -1`: stdout closes early; exit 141 (128 + SIGPIPE), like a killed `cat`, and
    nothing on stderr: no traceback, no 'Exception ignored' at exit. 3 lines: buffered output whose write
    fails only at the final flush."""
    code = textwrap.dedent(f"""
        import sys, time
        import minimobilebert.cli as cli
        def chatty(args):
            for i in range({lines}):
                print("line", i)
            time.sleep(0.5)  # the reader has closed the pipe by now
            return 0
        cli.cmd_run = chatty
        sys.exit(cli.main(["run", "--ids", "1"]))
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], env=CHILD_ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    if lines > 3:
        proc.stdout.readline()
    proc.stdout.close()  # like head -1
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141 and err == b"", (proc.returncode, err.decode())


def test_cli_ctrl_c_is_one_line_and_exit_130(tmp_path):
    code = textwrap.dedent("""
        import signal, sys, time
        # As in a terminal: a test runner started in the background (`cmd &` in a script) inherits SIGINT
        # ignored, and Python then never raises KeyboardInterrupt (this test hung in such a CI run).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import minimobilebert.cli as cli
        def slow(args):
            print("ready", flush=True)
            time.sleep(60)
        cli.cmd_run = slow
        sys.exit(cli.main(["run", "--ids", "1"]))
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], env=CHILD_ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err == "minimobilebert: interrupted\n", (proc.returncode, err)


@pytest.mark.parametrize("as_the_command", [True, False])
def test_ctrl_c_while_the_command_imports_the_package(as_the_command):
    """SIGINT delivered in the middle of `import minimobilebert` (a meta-path hook sends it when the package
    starts importing its first submodule after startup.py): in the command's process, our one line and 130;
    in a program that merely imports us, Python's own KeyboardInterrupt, untouched."""
    code = textwrap.dedent(f"""
        import importlib.abc, os, signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)  # (see the test above)
        if {as_the_command}:
            sys.orig_argv = [sys.executable, "-m", "minimobilebert", "encode", "x"]
        class Interrupt(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "minimobilebert.auto":
                    os.kill(os.getpid(), signal.SIGINT)
        sys.meta_path.insert(0, Interrupt())
        import minimobilebert
        print("imported")
    """)
    proc = subprocess.run([sys.executable, "-c", code], env=CHILD_ENV, capture_output=True, text=True, timeout=60)
    if as_the_command:
        assert proc.returncode == 130 and proc.stderr == "minimobilebert: interrupted\n", (proc.returncode, proc.stderr)
    else:
        assert proc.returncode in (1, -signal.SIGINT), proc.returncode  # Python re-raises SIGINT at exit
        assert proc.stderr.rstrip().endswith("KeyboardInterrupt"), proc.stderr
    assert "imported" not in proc.stdout


@pytest.mark.parametrize("argv, pattern", [
    (["run", "--model", "M", "--ids", "101", "100000000000000000000"], "is not a token id"),
    (["run", "--model", "M", "--ids", "101", "-5"], "is not a token id"),
    (["run", "--model", "M", "--ids", "2", "--top-k", "0"], "must be at least 1"),
    (["run", "--model", "M", "--ids", "2", "--top-k", "-1"], "must be at least 1"),
    (["fill-mask", "a [MASK]", "--model", "M", "--top-k", "0"], "must be at least 1"),
    (["classify", "a", "--model", "M", "--top-k", "-1"], "must be at least 1"),
    (["qa", "--question", "a", "--context", "b", "--model", "M", "--top-k", "0"], "must be at least 1"),
    (["init", "X", "--layers", "0"], "must be at least 1"),
])
def test_cli_refuses_bad_numbers_in_argparse(tmp_path, capsys, argv, pattern):
    argv = [a.replace("M", str(tmp_path)) if a == "M" else a for a in argv]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert pattern in capsys.readouterr().err


def test_cli_init_caps_layers_and_refuses_to_overwrite(tmp_path, capsys):
    assert main(["init", str(tmp_path / "big"), "--layers", "100000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "num_hidden_layers" in err, err
    assert not (tmp_path / "big" / "model.safetensors").exists()
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my work")
    assert main(["init", str(folder), "--layers", "1"]) == 2
    assert "not empty" in capsys.readouterr().err and (folder / "notes.txt").read_text() == "my work"
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert main(["init", str(folder), "--layers", "1", "--force"]) == 0
    assert (folder / "model.safetensors").exists() and (folder / "notes.txt").read_text() == "my work"


def test_cli_reports_an_unexpected_exception_as_a_bug_in_one_line(tmp_path, capsys, monkeypatch):
    import minimobilebert.cli as cli_module

    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli_module, "cmd_run", broken)
    monkeypatch.delenv("MINIMOBILEBERT_DEBUG", raising=False)
    assert main(["run", "--ids", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a bug" in err and "MINIMOBILEBERT_DEBUG=1" in err, err
    monkeypatch.setenv("MINIMOBILEBERT_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["run", "--ids", "1"])


def test_cli_keyboard_interrupt_in_process(capsys, monkeypatch):
    import minimobilebert.cli as cli_module

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "cmd_run", interrupted)
    monkeypatch.delenv("MINIMOBILEBERT_DEBUG", raising=False)
    assert main(["run", "--ids", "1"]) == 130
    assert capsys.readouterr().err == "minimobilebert: interrupted\n"


# ------------------------------------------------------------------------------------------------ labels


LABEL_CALLS = [
    (mm.MobileBertForMaskedLM, dict(labels=np.full((1, 3), 1.5))),
    (mm.MobileBertForMaskedLM, dict(labels=[["a", "b", "c"]])),
    (mm.MobileBertForTokenClassification, dict(labels=np.ones((1, 3), bool))),
    (mm.MobileBertForPreTraining, dict(labels=np.ones((1, 3), int), next_sentence_label=[0.5])),
    (mm.MobileBertForMultipleChoice, dict(labels=["0"])),
    (mm.MobileBertForQuestionAnswering, dict(start_positions=[1.5], end_positions=[2])),
    (mm.MobileBertForSequenceClassification, dict(labels=["positive"])),
    (mm.MobileBertForMaskedLM, dict(labels=[[1, 2, 10**20]])),
]


@pytest.mark.parametrize("cls, kwargs", LABEL_CALLS, ids=lambda x: getattr(x, "__name__", None) or str(list(x)))
def test_float_or_string_labels_are_an_input_error(cls, kwargs):
    ids = np.array([[[1, 2, 3]]]) if cls is mm.MobileBertForMultipleChoice else np.array([[1, 2, 3]])
    with pytest.raises(InputError, match="labels|positions|targets"):
        cls(CONFIG)(ids, **kwargs)


# ------------------------------------------------------------------------------------------------ fuzzing


def _seed_files() -> dict[str, bytes]:
    return {"bin": zip_archive(torch_members(*bin_of(STATE))), "safetensors": safetensors_of(STATE)}


SEEDS = _seed_files()


def _pickle_of(raw: bytes) -> bytes:
    import io

    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return z.read("archive/data.pkl")


def mutate(kind: str, layer: str, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    """A valid file with byte edits: anywhere ("bytes"), in the pickle re-zipped with correct CRCs ("pickle"),
    in the zip headers only ("zip"), or in the safetensors header with its length kept ("header")."""
    raw = SEEDS[kind]
    if layer == "pickle" and kind == "bin":
        pkl = bytearray(_pickle_of(raw))
        for at, value in edits:
            pkl[at % len(pkl)] = value
        payload, storages = bin_of(STATE)
        return zip_archive(torch_members(bytes(pkl), storages))
    data = bytearray(raw)
    if layer == "zip" and kind == "bin":
        regions = [i for i in range(len(data)) if data[i:i + 2] == b"PK"]
        targets = [r + k for r in regions for k in range(46) if r + k < len(data)]
    elif layer == "header" and kind == "safetensors":
        targets = list(range(8, 8 + int.from_bytes(raw[:8], "little")))
    else:
        targets = list(range(len(data)))
    for at, value in edits:
        data[targets[at % len(targets)]] = value
    return bytes(data[:cut] if cut is not None else data)


MUTATIONS = st.tuples(st.sampled_from(["bin", "safetensors"]), st.sampled_from(["bytes", "pickle", "zip", "header"]),
                      st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
                      st.none() | st.integers(0, 4000))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=MUTATIONS)
def test_fuzzed_checkpoints_load_or_raise_our_error(tmp_path, mutation):
    """Mutated valid files (bytes, zip headers, pickle opcodes, safetensors headers): the loader returns
    tensors a model can take, or raises CheckpointError; nothing else."""
    path = tmp_path / "fuzzed"
    path.write_bytes(mutate(*mutation))
    try:
        state = load_state_dict(str(path))
    except CheckpointError:
        return
    assert all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in state.items())
    try:
        mm.MobileBertModel(CONFIG, state)
    except CheckpointError:
        pass
    except MiniMobileBertError as e:  # pragma: no cover - reported below
        pytest.fail(f"unexpected error family member: {e!r}")


def test_fuzzed_checkpoints_in_a_capped_child(tmp_path):
    """A handful of mutations run under the memory cap: no signal, no other exception, bounded memory."""
    rng = random.Random(1)
    cases = []
    for i in range(24):
        kind = rng.choice(["bin", "safetensors"])
        layer = rng.choice(["bytes", "pickle", "zip", "header"])
        edits = [(rng.randrange(10**6), rng.randrange(256)) for _ in range(rng.randint(1, 6))]
        folder = folder_with(tmp_path, f"fuzz{i}", {("pytorch_model.bin" if kind == "bin" else "model.safetensors"):
                                                    mutate(kind, layer, edits, None)})
        cases.append(dict(id=f"fuzz{i}", call="MobileBertModel", path=str(folder)))
    results = run_cases(cases)
    for case in cases:
        assert results[case["id"]]["outcome"] in ("loaded", "CheckpointError"), results[case["id"]]
    assert max(r["maxrss_kb"] for r in results.values()) < RSS_LIMIT_KB


@pytest.mark.parametrize("values, field", [
    ({"layer_norm_eps": "1e-12"}, "layer_norm_eps"), ({"hidden_act": ["relu"]}, "hidden_act"),
    ({"id2label": ["a"]}, "id2label"), ({"pad_token_id": "0"}, "pad_token_id"),
    ({"num_hidden_layers": 10**6}, "num_hidden_layers"), ({"num_feedforward_networks": 10**7}, "num_feedforward_networks"),
    ({"num_labels": 10**9}, "num_labels"), ({"vocab_size": 10**12}, "vocab_size"),
    ({"classifier_activation": "false"}, "classifier_activation"), ({"id2label": {"5": "a"}}, "id2label"),
])
def test_cli_turns_a_bad_config_into_one_line(tmp_path, capsys, values, field):
    """config.json values of the wrong type or size (checked by config.py): one line naming the file and
    the field, exit code 2, never a MemoryError or a traceback."""
    folder = folder_with(tmp_path, "m", {"model.safetensors": safetensors_of(STATE)})
    data = json.loads((folder / "config.json").read_text())
    data.update(values)
    (folder / "config.json").write_text(json.dumps(data))
    assert main(["run", "--model", str(folder), "--ids", "2", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.json" in err and field in err, err


DIMS = st.one_of(st.integers(0, 5), st.integers(0, 2**80))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.lists(DIMS, max_size=5), stride=st.lists(st.one_of(st.integers(-2, 6), st.integers(0, 2**80)),
                                                          max_size=5),
       offset=st.one_of(st.integers(0, 30), st.integers(-2, 2**70)), numel=st.integers(0, 24))
def test_fuzzed_tensor_records_are_views_inside_their_storage_or_refused(tmp_path, size, stride, offset, numel):
    """Any size/stride/offset a record may declare: refused with CheckpointError, or a view whose elements
    are the storage's, element for element (checked at the furthest element the view reaches, against the
    test's own index arithmetic on the bytes it wrote)."""
    storage = np.arange(numel, dtype=np.float32)
    record = tensor_ref(storage_ref("0", "FloatStorage", numel), offset, size, stride)
    path = tmp_path / "fuzz.bin"
    path.write_bytes(zip_archive(torch_members(state_pickle({"x": record}), {"0": storage.tobytes()})))
    try:
        x = load_state_dict(str(path))["x"]
    except CheckpointError:
        return
    assert x.shape == tuple(size) and not x.flags.writeable
    if x.size:
        furthest = offset + sum((n - 1) * s for n, s in zip(size, stride))
        assert furthest < numel
        assert x[tuple(n - 1 for n in size)] == storage[furthest] and x[(0,) * len(size)] == storage[offset]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.lists(DIMS, max_size=4), begin=st.one_of(st.integers(0, 40), st.integers(-2, 2**70)),
       end=st.one_of(st.integers(0, 40), st.integers(-2, 2**70)), dtype=st.sampled_from(["F32", "F16", "BF16", "I64",
                                                                                        "U8", "BOOL", "F8_E5M2"]),
       data=st.binary(max_size=40))
@example(shape=[], begin=0, end=2, dtype="BF16", data=b"\x00\x80")  # a bfloat16 scalar (once a NumPy scalar, not an array)
def test_fuzzed_safetensors_headers_are_views_inside_the_file_or_refused(tmp_path, shape, begin, end, dtype, data):
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(safetensors_bytes({"x": {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}}, data))
    try:
        x = load_state_dict(str(path))["x"]
    except CheckpointError:
        return
    assert x.shape == tuple(shape) and end == len(data) and begin == 0
    if dtype in ("F32", "I64", "U8"):
        assert x.tobytes() == data


BIG = 10**5000  # more digits than Python converts to text: an error message that repr()s it would raise
S1 = storage_ref("0", "FloatStorage", 1)


@pytest.mark.parametrize("pickle_bytes", [
    state_pickle({BIG: tensor_ref(S1, 0, (1,), (1,))}), state_pickle({"x": tensor_ref(S1, 0, (2,), (BIG,))}),
    state_pickle({"x": tensor_ref(S1, BIG, (2,), (1,))}), state_pickle({"x" * 10**6: tensor_ref(S1, 5, (2,), (1,))}),
    state_pickle({"x": tensor_ref(storage_ref("0", "FloatStorage", BIG), 0, (1,), (1,))}),
    state_pickle({("a",) * 10**5: tensor_ref(S1, 0, (1,), (1,))}),
], ids=["int-key", "int-stride", "int-offset", "long-name", "int-numel", "tuple-key"])
def test_error_messages_about_huge_values_are_short_and_ours(tmp_path, pickle_bytes):
    path = tmp_path / "x.bin"
    path.write_bytes(zip_archive(torch_members(pickle_bytes, {"0": bytes(4)})))
    with pytest.raises(CheckpointError) as error:
        load_state_dict(str(path))
    assert len(str(error.value)) < 600


@pytest.mark.parametrize("name, raw", [
    ("model.safetensors", safetensors_bytes(b'{"a": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], '
                                           b'"data_offsets": [0, 4]}}', bytes(4))),
    ("model.safetensors.index.json", b'{"weight_map": {"a": ' + b"9" * 5000 + b"}}"),
])
def test_json_integers_too_long_to_convert_are_our_error(tmp_path, name, raw):
    (tmp_path / name).write_bytes(raw)
    with pytest.raises(CheckpointError, match=name.replace(".", r"\.")):
        load_state_dict(str(tmp_path / name))
