"""Checkpoint files: the torch-free .bin reader, its refusal to run code, and clear errors for bad files."""

from __future__ import annotations

import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import minimobilebert as mm
from minimobilebert.checkpoint import load_state_dict
from minimobilebert.torch_pickle import CheckpointError, load_torch_state_dict
from conftest import SMALL

TINY = dict(SMALL, num_hidden_layers=1)


def write_zip_checkpoint(path, payload: bytes, storages: dict[str, bytes] | None = None) -> None:
    """A file laid out as torch.save lays it out, with any pickle payload we like."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        for key, raw in (storages or {}).items():
            z.writestr(f"archive/data/{key}", raw)


class _RunsShellCommand:
    """Unpickling this object would call os.system(...) — the classic malicious-checkpoint payload."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"embeddings.word_embeddings.weight": _RunsShellCommand(str(marker))}, protocol=2)
    path = tmp_path / "pytorch_model.bin"
    write_zip_checkpoint(path, payload)
    with pytest.raises(CheckpointError, match=r"refusing .*(posix|os)\.system.* never runs code"):
        load_torch_state_dict(str(path))
    assert not marker.exists(), "the payload ran"
    # Sanity check of the test itself: the standard unpickler WOULD run it.
    pickle.loads(payload)
    assert marker.exists()


@pytest.mark.parametrize("target", ["builtins eval", "subprocess Popen", "torch load", "numpy load"])
def test_any_other_global_is_refused(tmp_path, target):
    module, name = target.split()
    payload = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."
    path = tmp_path / "x.bin"
    write_zip_checkpoint(path, payload)
    with pytest.raises(CheckpointError, match=f"`{module}.{name}`"):
        load_torch_state_dict(str(path))


def test_storage_view_outside_its_storage_is_refused(tmp_path, oracle):
    """A tensor record claiming more elements than its storage holds must not read past it."""
    torch, _ = oracle
    path = tmp_path / "big.bin"
    torch.save({"w": torch.arange(6, dtype=torch.float32)}, path)
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    data_name = next(n for n in files if n.endswith("data/0"))
    files[data_name] = files[data_name][:8]  # keep 2 of the 6 floats
    with zipfile.ZipFile(path, "w") as z:
        for n, raw in files.items():
            z.writestr(n, raw)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_torch_state_dict(str(path))


def test_bin_reader_handles_dtypes_views_and_shared_storage(tmp_path, oracle):
    torch, _ = oracle
    base = torch.randn(4, 5)
    state = {"f32": base, "f16": torch.randn(3).half(), "bf16": torch.randn(7).bfloat16(),
             "i64": torch.arange(4), "column": base[:, 2], "row": base[1], "scalar": torch.tensor(3.5)}
    path = tmp_path / "mixed.bin"
    torch.save(state, path)
    loaded = load_torch_state_dict(str(path))
    for name, tensor in state.items():
        expected = tensor.float().numpy() if tensor.dtype == torch.bfloat16 else tensor.numpy()
        np.testing.assert_array_equal(loaded[name], expected, err_msg=name)
        assert loaded[name].shape == tuple(tensor.shape)


@pytest.mark.parametrize("cut", [0, 5, 100, "half"])
def test_truncated_files_give_a_clear_error(tmp_path, cut):
    model = mm.MobileBertModel(mm.MobileBertConfig(**TINY))
    folder = tmp_path / "m"
    model.save_pretrained(folder)
    weights = folder / "model.safetensors"
    raw = weights.read_bytes()
    weights.write_bytes(raw[: len(raw) // 2 if cut == "half" else cut])
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        mm.MobileBertModel.from_pretrained(folder)


def test_truncated_bin_gives_a_clear_error(tmp_path, oracle):
    torch, _ = oracle
    path = tmp_path / "pytorch_model.bin"
    torch.save({"w": torch.randn(100, 100)}, path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="corrupt|truncated|not a zip"):
        load_state_dict(str(path))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=300))
def test_random_bytes_never_crash_the_loader(tmp_path, data):
    """Fuzz: arbitrary bytes as a weights file give CheckpointError, never another exception."""
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)
    with pytest.raises(CheckpointError):
        load_state_dict(str(path))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=200))
@example(data=b"\x95\x00\x00\x00\x00\x00\x00\x00\x80")  # a FRAME opcode claiming 2**63 bytes
def test_random_pickles_in_a_zip_never_crash_the_loader(tmp_path, data):
    path = tmp_path / "fuzz.bin"
    write_zip_checkpoint(path, b"\x80\x02" + data)
    with pytest.raises(CheckpointError):
        load_torch_state_dict(str(path))


def test_wrong_config_lists_every_mismatch(tmp_path):
    mm.MobileBertModel(mm.MobileBertConfig(**TINY)).save_pretrained(tmp_path)
    other = mm.MobileBertConfig(**dict(TINY, intermediate_size=40, num_hidden_layers=2))
    with pytest.raises(CheckpointError) as err:
        mm.MobileBertModel.from_pretrained(tmp_path, config=other)
    message = str(err.value)
    assert "missing weights" in message and "encoder.layer.1." in message
    assert "mis-shaped weights" in message and "intermediate.dense.weight: checkpoint (48, 32), model (40, 32)" in message
    assert "config.json" in message


def test_unknown_and_missing_weights_warn_as_in_transformers():
    """As transformers: a weight the model does not use is left out, and a missing weight of the encoder is
    drawn at random, each with a warning naming it (MissingWeightsWarning for the encoder; the CLI stops
    there, tests/test_cli_and_hub.py). Shapes are still an error (test_wrong_config_lists_every_mismatch)."""
    from minimobilebert.errors import MissingWeightsWarning

    model = mm.MobileBertModel(mm.MobileBertConfig(**TINY))
    ids = np.array([[1, 2, 3]])
    state = model.state_dict()
    state["encoder.layer.0.adapter.weight"] = np.zeros(3, np.float32)
    with pytest.warns(UserWarning, match=r"1 weights are not used by this model .*\(encoder.layer.0.adapter.weight\)"):
        loaded = mm.MobileBertModel(model.config, state)
    np.testing.assert_array_equal(loaded(ids).last_hidden_state, model(ids).last_hidden_state)
    del state["encoder.layer.0.output.dense.weight"]
    with pytest.warns(MissingWeightsWarning, match=r"1 of the encoder's weights .*encoder.layer.0.output.dense.weight"):
        mm.MobileBertModel(model.config, state)


def test_each_load_report_has_its_own_warning_category():
    """Code that reacts to a load (the CLI, the corpus runner, a user's filterwarnings) tells the three cases
    apart by category, never by the message's words: unused weights (UserWarning only), a new head or pooler
    (NewlyInitialisedWarning), an incomplete encoder (MissingWeightsWarning)."""
    import warnings

    model = mm.MobileBertModel(mm.MobileBertConfig(**TINY))
    state = model.state_dict()

    def categories(cls, state):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cls(model.config, state)
        return [w.category for w in caught]

    unused = dict(state, **{"encoder.layer.0.adapter.weight": np.zeros(3, np.float32)})
    assert categories(mm.MobileBertModel, unused) == [UserWarning]
    assert categories(mm.MobileBertForSequenceClassification, state) == [mm.NewlyInitialisedWarning]
    incomplete = {k: v for k, v in state.items() if k != "encoder.layer.0.output.dense.weight"}
    assert categories(mm.MobileBertModel, incomplete) == [mm.MissingWeightsWarning]
    assert not issubclass(mm.NewlyInitialisedWarning, mm.MissingWeightsWarning)


def test_float16_weights_are_upcast_with_a_warning(tmp_path):
    model = mm.MobileBertModel(mm.MobileBertConfig(**TINY))
    half = {k: v.astype(np.float16) for k, v in model.state_dict().items()}
    with pytest.warns(UserWarning, match="float16 weights upcast to float32"):
        upcast = mm.MobileBertModel(model.config, half)
    assert all(v.dtype == np.float32 for v in upcast.params.values())
    ids = np.array([[2, 3, 4]])
    np.testing.assert_allclose(upcast(ids).last_hidden_state, mm.MobileBertModel(model.config, {
        k: v.astype(np.float32) for k, v in half.items()})(ids).last_hidden_state)


def test_sharded_safetensors_index_loads(tmp_path):
    from safetensors.numpy import save_file

    model = mm.MobileBertForMaskedLM(mm.MobileBertConfig(**TINY), seed=1)
    model.config.save_pretrained(tmp_path)
    # contiguous copies: safetensors.numpy.save_file writes a non-contiguous array's memory order, and packed
    # models hand out transposed views
    state = {k: np.ascontiguousarray(v) for k, v in model.state_dict().items()}
    names = sorted(state)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    weight_map = {}
    for shard, keys in shards.items():
        save_file({k: state[k] for k in keys}, str(tmp_path / shard), metadata={"format": "pt"})
        weight_map.update({k: shard for k in keys})
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    loaded = mm.MobileBertForMaskedLM.from_pretrained(tmp_path)
    assert loaded.params.keys() == model.params.keys()
    for k in model.params:
        np.testing.assert_array_equal(loaded.params[k], state[k])


def test_missing_folder_and_missing_weights_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a checkpoint folder"):
        mm.MobileBertModel.from_pretrained(str(tmp_path / "nope" / "deeper"))
    mm.MobileBertConfig(**TINY).save_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="model.safetensors, model.safetensors.index.json, pytorch_model.bin"):
        mm.MobileBertModel.from_pretrained(tmp_path)


def test_round_trip_save_load_is_exact(tmp_path):
    model = mm.MobileBertForPreTraining(mm.MobileBertConfig(**TINY), seed=5)
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["MobileBertForPreTraining"]
    loaded = mm.MobileBertForPreTraining.from_pretrained(tmp_path)
    assert loaded.config == model.config.replace(architectures=["MobileBertForPreTraining"])
    assert set(loaded.params) == set(model.params)
    for k, v in model.params.items():
        np.testing.assert_array_equal(loaded.params[k], v)


def test_legacy_pickle_format_is_named(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=2) + b"\x00" * 8)
    with pytest.raises(CheckpointError, match="legacy"):
        load_state_dict(str(path))


def test_pickle_with_no_tensors_is_refused(tmp_path):
    path = tmp_path / "x.bin"
    write_zip_checkpoint(path, pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(CheckpointError, match="does not hold a state dict"):
        load_torch_state_dict(str(path))


def test_torch_expanded_tensors_load_as_views(tmp_path, oracle):
    """torch saves an expanded tensor (HF's position_ids buffer) with stride 0; it loads as a stride-0 view with
    torch's values, not refused and not materialised."""
    torch, _ = oracle
    expanded = torch.arange(512).expand((64, 512))
    transposed = torch.randn(6, 4).t()
    path = tmp_path / "pytorch_model.bin"
    torch.save({"embeddings.position_ids": expanded, "t": transposed}, path)
    state = load_torch_state_dict(str(path))
    assert state["embeddings.position_ids"].strides == (0, 8)
    np.testing.assert_array_equal(state["embeddings.position_ids"], expanded.numpy())
    np.testing.assert_array_equal(state["t"], transposed.numpy())
    assert not state["t"].flags.writeable


def test_hand_built_checkpoints_are_what_torch_reads(tmp_path, oracle):
    """The hostile suite builds .bin files by hand (tests/hostile_files.py); torch reads a valid one as we do."""
    from hostile_files import write_bin

    torch, _ = oracle
    state = mm.MobileBertModel(mm.MobileBertConfig(**TINY)).state_dict()
    state = {k: np.ascontiguousarray(v) for k, v in state.items()}
    path = write_bin(tmp_path / "pytorch_model.bin", dict(state, ids=np.arange(5)))
    theirs = torch.load(path, weights_only=True)
    ours = load_torch_state_dict(str(path))
    assert set(theirs) == set(ours) == set(state) | {"ids"}
    for k, v in theirs.items():
        np.testing.assert_array_equal(ours[k], v.numpy(), err_msg=k)


def test_model_weights_are_owned_copies_not_views_of_the_file(tmp_path):
    """A loaded model keeps its own memory: saving over the file it came from (the usual
    from_pretrained -> save_pretrained round trip into one folder) cannot change or crash it."""
    model = mm.MobileBertModel(mm.MobileBertConfig(**TINY), seed=2)
    model.save_pretrained(tmp_path)
    loaded = mm.MobileBertModel.from_pretrained(tmp_path)
    ids = np.array([[2, 3, 4]])
    before = loaded(ids).last_hidden_state
    (tmp_path / "model.safetensors").write_bytes(b"")  # truncate the file under the loaded model
    mm.MobileBertModel(mm.MobileBertConfig(**TINY), seed=3).save_pretrained(tmp_path)
    np.testing.assert_array_equal(loaded(ids).last_hidden_state, before)


def test_a_loaded_model_keeps_nothing_of_the_file(tmp_path):
    """Loading maps the file and copies each weight out once: the dense layers straight into their packed
    buffers, the rest chunk by chunk (checkpoint.owned). After it no weight is a view of the file, so a file
    truncated or rewritten later cannot reach the model (reading a truncated mapping is a SIGBUS)."""
    from minimobilebert.files import mapped

    model = mm.MobileBertForMaskedLM(mm.MobileBertConfig(**TINY), seed=5)
    model.save_pretrained(tmp_path)
    loaded = mm.MobileBertForMaskedLM.from_pretrained(tmp_path)
    assert not any(mapped(v) for v in loaded.params.values())
    assert all(v.flags.writeable for v in loaded.params.values())
    ids = np.array([[2, 7, 9, 4]])
    expected = model(ids).logits
    (tmp_path / "model.safetensors").write_bytes(b"")  # the file is emptied under the loaded model
    np.testing.assert_array_equal(loaded(ids).logits, expected)
