"""The model classes a Hugging Face user knows, as thin wrappers over the free functions.

    model = MobileBertForMaskedLM.from_pretrained("path/to/checkpoint")
    out = model(input_ids, attention_mask=mask)          # NumPy int arrays [B, T]
    out.logits                                          # [B, T, vocab]; also out[0], out["logits"]

Each class owns a config and a flat dict of float32 weights named as in HF's state dict
(`model.params`); the math lives in model.py (encoder) and heads.py (heads), losses in losses.py,
what a forward returns in outputs.py. Inference only: no dropout, no gradients.

The calls a transformers inference script makes work unchanged (docs/hf-compat.md): `from_pretrained(path,
num_labels=3, output_hidden_states=True, subfolder=..., dtype=...)`, `MobileBertModel(config,
add_pooling_layer=False)`, `model.eval()`, `model(**batch)[0]`, `return_dict=False`, `save_pretrained`.
"""

from __future__ import annotations

import copy
import os
import warnings
from typing import Any

import numpy as np

from . import checkpoint, heads, losses, model
from .config import FLOAT32_NAMES, MobileBertConfig, check_bool, dtype_name, read_config_json
from .errors import ConfigError, InputError, NewlyInitialisedWarning
from .hub import resolve_model_folder
from .outputs import (  # noqa: F401 - re-exported: minimobilebert.modeling.MaskedLMOutput, ...
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    MobileBertForPreTrainingOutput,
    ModelOutput,
    MultipleChoiceModelOutput,
    NextSentencePredictorOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from .params import HEADS, init_params, nest, parameter_shapes
from .convert import is_untyped_bert, untyped
from .validation import is_cpu, validate_inputs, validate_inputs_embeds

# What our own callers (pipelines, sentence embeddings, the CLI) pass on every forward: an output object and
# no per-layer tensors, whatever a checkpoint's config.json says (`return_dict: false` would hand them a
# tuple; `output_hidden_states: true` would keep every layer's hidden states for nobody).
OWN_CALL = {"return_dict": True, "output_hidden_states": False, "output_attentions": False}

# transformers' from_pretrained options that change nothing for a float32 NumPy model on the CPU: accepted, ignored.
IGNORED_LOADING_OPTIONS = ("low_cpu_mem_usage", "trust_remote_code", "force_download", "resume_download", "proxies",
                           "token", "use_auth_token", "_fast_init", "offload_folder", "offload_state_dict",
                           "offload_buffers", "max_memory", "use_safetensors", "_from_auto", "_from_pipeline",
                           "code_revision", "mirror", "attn_implementation", "use_kernels", "adapter_kwargs",
                           "_configuration_file")
# Options whose other values we cannot honour: (the value that is fine, why another is refused).
REFUSED_LOADING_OPTIONS = {
    "from_tf": (False, "convert TensorFlow checkpoints with transformers first"),
    "from_flax": (False, "convert Flax checkpoints with transformers first"),
    "variant": (None, "name the weights file model.safetensors or pytorch_model.bin"),
    "gguf_file": (None, "GGUF files are not read; use safetensors"),
    "quantization_config": (None, "minimobilebert computes in float32 only"),
    "load_in_8bit": (False, "minimobilebert computes in float32 only"),
    "load_in_4bit": (False, "minimobilebert computes in float32 only"),
    "key_mapping": (None, "rename the state dict's keys before saving it"),
    "tp_plan": (None, "minimobilebert runs in one process"),
}
FORWARD_NONE_ONLY = {  # forward arguments of transformers' MobileBERT we accept only as None
    "head_mask": "pruning heads at run time is not supported; leave head_mask out",
    "encoder_hidden_states": "MobileBERT has no cross-attention",
    "encoder_attention_mask": "MobileBERT has no cross-attention",
    "num_items_in_batch": "minimobilebert computes losses per batch",
}


def _float32_only(name: str, value: Any, error: type = InputError) -> None:
    """dtype= / torch_dtype= options: float32 (or "auto") silently; float16 / bfloat16 with a warning."""
    try:
        name_ = dtype_name(value)
    except ConfigError as e:
        raise error(f"{name}: {e}") from None
    if name_ not in FLOAT32_NAMES:
        warnings.warn(f"{name}={value!r}: minimobilebert computes in float32 only (MobileBERT's activations reach "
                      "1e7-1e8, past float16's range); the model stays float32", stacklevel=3)


class Embedding:
    """What get_input_embeddings() returns: the word-embedding table, callable on ids like torch's nn.Embedding."""

    def __init__(self, weight: np.ndarray):
        self.weight = weight  # [vocab, embedding_size]
        self.num_embeddings, self.embedding_dim = weight.shape

    def __call__(self, input_ids) -> np.ndarray:
        ids = np.asarray(input_ids)
        if not np.issubdtype(ids.dtype, np.integer) or (ids.size and not 0 <= ids.min() <= ids.max() < len(self.weight)):
            raise InputError(f"ids must be integers in [0, {len(self.weight)})")
        return self.weight[ids]

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


class Decoder:
    """What get_output_embeddings() returns: the masked-LM decoder as torch's nn.Linear shows it (weight
    [out, in], bias [out]), callable: x @ weight.T + bias. Its arrays are the model's own (no copies)."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray):
        self.weight, self.bias = weight, bias  # [vocab, embedding_size], [vocab]
        self.out_features, self.in_features = weight.shape

    def __call__(self, x) -> np.ndarray:
        return np.asarray(x, dtype=np.float32) @ self.weight.T + self.bias  # [..., in] -> [..., vocab]

    def __repr__(self) -> str:
        return f"Decoder(in_features={self.in_features}, out_features={self.out_features})"


class KeySet(set):
    """A set of weight names, as transformers 5's loading info holds; it also compares equal to a list of the
    same names, as transformers 4 returned (scripts and tests written for it check `== []`)."""

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, list):
            return len(other) == len(self) and set(other) == set(self)
        return set.__eq__(self, other)

    def __ne__(self, other: Any) -> bool:
        return not self == other

    __hash__ = None


# transformers 5's tied names of the masked-LM heads: {name: the tensor it is} (when tie_word_embeddings)
TIED_LM_WEIGHTS = {"cls.predictions.decoder.bias": "cls.predictions.bias",
                   "cls.predictions.decoder.weight": "mobilebert.embeddings.word_embeddings.weight"}


# ------------------------------------------------------------------------------------------------- base class


class MobileBertPreTrainedModel:
    head = "base"
    base_model_prefix = "mobilebert"
    main_input_name = "input_ids"
    config_class = MobileBertConfig
    training = False  # inference only: forward never applies dropout; train() says so
    # transformers' class attributes that its own tests and scripts read, with transformers 5's values where they
    # describe this model; no gradients here, so no gradient checkpointing (HF's tests of it then skip)
    # (None on the class, an empty set on a model, as in transformers)
    _tied_weights_keys: dict[str, str] | None = None
    _keep_in_fp32_modules = _keep_in_fp32_modules_strict = _no_split_modules = None
    _keys_to_ignore_on_load_missing = _keys_to_ignore_on_load_unexpected = None
    supports_gradient_checkpointing = False

    def __init__(self, config: MobileBertConfig | None = None, params: dict[str, np.ndarray] | None = None,
                 *, seed: int | None = 0, source: str | None = None, add_pooling_layer: bool | None = None,
                 **kwargs: Any):
        """A model with `params` (a flat {hf_name: array} dict, checked against the config), or with random
        weights drawn as HF initialises them when `params` is None. `source` names the weights in errors.
        `add_pooling_layer=False` (MobileBertModel only, as in HF) builds no pooler: pooler_output is None."""
        if kwargs:
            raise InputError(f"{type(self).__name__}() got unknown keyword argument(s) {', '.join(sorted(kwargs))}; "
                             "it takes config, params, seed=, source= and (MobileBertModel) add_pooling_layer=. "
                             "Config values go in the config: MobileBertConfig(**values)")
        if isinstance(params, bool) and self.head == "base":  # HF's MobileBertModel(config, False)
            params, add_pooling_layer = None, params
        config = config if config is not None else MobileBertConfig()
        if not isinstance(config, MobileBertConfig):
            raise ConfigError(f"{type(self).__name__} needs a MobileBertConfig, got {type(config).__name__}; build one "
                              "with MobileBertConfig(**values) or MobileBertConfig.from_pretrained(folder)")
        config.validate()  # attributes set one at a time are only checked as a whole here
        if add_pooling_layer is not None and self.head != "base":
            raise InputError(f"add_pooling_layer is an option of MobileBertModel only; {type(self).__name__} "
                             "decides its pooler itself, as in transformers")
        self.config = config
        self.add_pooling_layer = (HEADS[self.head][0] if add_pooling_layer is None
                                  else check_bool("add_pooling_layer", add_pooling_layer))
        shapes = parameter_shapes(self.config, self.head, self.add_pooling_layer)
        deferred: set[str] = set()  # weights still views of a mapped checkpoint file until owned() below
        if params is None:
            params = init_params(self.config, shapes, seed)
        else:
            source = source or f"{type(self).__name__} params"
            params = checkpoint.reconcile(checkpoint.as_arrays(params, source), shapes, self.config, source, seed,
                                          defer=deferred)
        self.params = params
        from .packing import pack_params  # dense weights become views of shared buffers: HF's shapes, no copy
        pack_params(self.config, params)  # copies the dense weights out of the file, into their buffers
        checkpoint.owned(params, deferred, source)  # the rest out of the file too; every deferred one checked
        self.p = nest(params)
        self._set_hf_instance_attributes()

    def _set_hf_instance_attributes(self) -> None:
        for name in ("_keep_in_fp32_modules", "_keep_in_fp32_modules_strict", "_no_split_modules",
                     "_keys_to_ignore_on_load_missing", "_keys_to_ignore_on_load_unexpected"):
            setattr(self, name, set())

    @classmethod
    def _from_config(cls, config: MobileBertConfig, **kwargs: Any):
        """transformers' model-from-config constructor (its tests call it): random weights. `dtype` /
        `torch_dtype` other than float32 warn; `attn_implementation` changes nothing (one attention here)."""
        for name in ("dtype", "torch_dtype"):
            if name in kwargs:
                _float32_only(name, kwargs.pop(name))
        kwargs.pop("attn_implementation", None)
        return cls(config, **kwargs)

    # ----------------------------------------------------------------------------- loading and saving
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike | None, *model_args: Any,
                        config: MobileBertConfig | str | os.PathLike | None = None, cache_dir: str | None = None,
                        revision: str | None = None, local_files_only: bool = False, subfolder: str = "",
                        state_dict: dict[str, np.ndarray] | None = None, seed: int | None = 0, dtype: Any = None,
                        torch_dtype: Any = None, device_map: Any = None, ignore_mismatched_sizes: bool = False,
                        output_loading_info: bool = False, **kwargs: Any):
        """Load a checkpoint folder (config.json + model.safetensors or pytorch_model.bin) or a hub id, as
        transformers does: keyword arguments that are config keys override config.json (`num_labels=3`,
        `id2label=...`, `output_hidden_states=True`); `subfolder=` reads a folder inside it; `state_dict=`
        replaces the weights file (`from_pretrained(None, config=config, state_dict=weights)`: no folder);
        `dtype`/`torch_dtype` other than float32 warn and stay float32. As in transformers, weights the
        checkpoint lacks are drawn at random and weights the model does not use are left out, each with a
        warning, and weights of another shape are an error (CheckpointShapeError, also a RuntimeError) unless
        `ignore_mismatched_sizes=True`, which draws them at random (e.g. a new number of labels);
        `output_loading_info=True` returns (model, {"missing_keys", "unexpected_keys", "mismatched_keys",
        "error_msgs"}) as transformers 5 (sets, and a list). `add_pooling_layer=` goes to MobileBertModel.
        Anything else is an InputError listing these."""
        if model_args:
            raise InputError(f"{cls.__name__}.from_pretrained takes the path and keyword arguments only, got extra "
                             f"positional arguments {model_args!r}")
        _float32_only("dtype", dtype)
        _float32_only("torch_dtype", torch_dtype)
        if device_map not in (None, "cpu", "auto", {"": "cpu"}):
            raise InputError(f"device_map={device_map!r}: minimobilebert runs on the CPU; leave device_map out")
        for option in IGNORED_LOADING_OPTIONS:
            kwargs.pop(option, None)
        for option, (fine, why) in REFUSED_LOADING_OPTIONS.items():
            if option in kwargs and kwargs.pop(option) != fine:
                raise InputError(f"{option} is not supported: {why}")
        model_kwargs = {"add_pooling_layer": kwargs.pop("add_pooling_layer")} if "add_pooling_layer" in kwargs else {}
        if pretrained_model_name_or_path is None:  # transformers' from_pretrained(None, config=..., state_dict=...)
            if config is None or isinstance(config, (str, os.PathLike)) and not os.path.isdir(os.fspath(config)):
                raise InputError(f"{cls.__name__}.from_pretrained(None, ...) needs config= (a MobileBertConfig or a "
                                 "checkpoint folder) and takes its weights from state_dict= (random without it)")
            pretrained_model_name_or_path = folder = None
        else:
            path = os.path.expanduser(os.fspath(pretrained_model_name_or_path))
            folder = path if os.path.isdir(path) else resolve_model_folder(
                path, cache_dir=cache_dir, revision=revision, local_files_only=local_files_only)
        if subfolder and folder is not None:
            folder = os.path.join(folder, subfolder)
            if not os.path.isdir(folder):
                raise FileNotFoundError(f"no subfolder {subfolder!r} in {path!r}")
        source = None
        if config is None:
            file = os.path.join(folder, "config.json")
            raw = read_config_json(file)
            if untyped(raw):  # no model_type and none of MobileBERT's keys: a BERT if its weights say so
                if state_dict is None:
                    source = checkpoint.find_weights_file(folder)
                    state_dict = checkpoint.load_state_dict(source)
                if is_untyped_bert(raw, state_dict):
                    raw = dict(raw, model_type="bert")
            config, unused = MobileBertConfig.from_file_data(file, raw, return_unused_kwargs=True, **kwargs)
        elif isinstance(config, (str, os.PathLike)):
            config, unused = MobileBertConfig.from_pretrained(config, return_unused_kwargs=True, **kwargs)
        elif isinstance(config, MobileBertConfig):
            unused = {}
            if kwargs:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # given when `config` was made
                    config, unused = MobileBertConfig.from_dict(config.to_dict(), return_unused_kwargs=True, **kwargs)
        else:
            raise ConfigError(f"config must be a MobileBertConfig or the path of a config.json, got "
                              f"{type(config).__name__}")
        if unused:
            raise InputError(
                f"{cls.__name__}.from_pretrained got unknown keyword argument(s) {', '.join(sorted(unused))}. It "
                "takes config overrides (any MobileBertConfig field or key of config.json, e.g. num_labels=3, "
                "id2label={...}, output_hidden_states=True), config=, subfolder=, cache_dir=, revision=, "
                "local_files_only=, state_dict=, ignore_mismatched_sizes=, dtype=/torch_dtype= (float32), seed=, and "
                "add_pooling_layer= for MobileBertModel; transformers' device_map='cpu', attn_implementation, "
                "low_cpu_mem_usage and token are accepted and change nothing here"
            )
        if state_dict is None and folder is None:
            state_dict, source = {}, "from_pretrained(None) without a state_dict"
        elif state_dict is None:
            source = checkpoint.find_weights_file(folder)
            state_dict = checkpoint.load_state_dict(source)
        elif source is None:
            source = "the state_dict argument"
        info = cls._loading_info(state_dict, config, model_kwargs.get("add_pooling_layer")) if output_loading_info \
            else None  # a weight of another shape is "mismatched", not "missing", as in transformers
        mismatched = KeySet()
        if ignore_mismatched_sizes:
            state_dict, mismatched = cls._drop_mismatched(state_dict, config, model_kwargs.get("add_pooling_layer"),
                                                          source)
        loaded = cls(config, state_dict, seed=seed, source=source, **model_kwargs)
        if pretrained_model_name_or_path is not None:
            config.name_or_path = os.fspath(pretrained_model_name_or_path)
        if output_loading_info:
            return loaded, dict(info, mismatched_keys=mismatched, error_msgs=[])
        return loaded

    @classmethod
    def _loading_info(cls, state: dict, config: MobileBertConfig, add_pooling_layer) -> dict[str, set[str]]:
        """transformers' loading info (sets, as in transformers 5): weights the class expects that the state
        dict lacks (drawn at random), and names in the state dict the class does not use, by the rules
        checkpoint.reconcile applies."""
        expected = set(parameter_shapes(config, cls.head, add_pooling_layer))
        state = checkpoint.hf_names(state, config, "the checkpoint")  # the names transformers reports
        present = set(checkpoint.align_prefix(state, dict.fromkeys(expected)))
        prefix = cls.base_model_prefix + "."
        ties = ()
        if "cls.predictions.bias" in expected:  # transformers' masked-LM head also names the decoder's tensors
            expected.add("cls.predictions.decoder.bias")
            if config.tie_word_embeddings:
                expected.add("cls.predictions.decoder.weight")
                words = ("" if cls.head == "base" else prefix) + "embeddings.word_embeddings.weight"
                ties = ((words, "cls.predictions.decoder.weight"), ("cls.predictions.bias", "cls.predictions.decoder.bias"))
        missing = {k for k in expected if k not in present}
        for pair in ties:  # tied: either name in the file gives both tensors
            if any(k in present for k in pair):
                missing.difference_update(pair)
        # the name each checkpoint key has for this class (None: a head the base class does not read)
        renamed = {k: next((a for a in (k, prefix + k, k.removeprefix(prefix)) if a in present), None) for k in state}
        return {"missing_keys": KeySet(missing),
                "unexpected_keys": KeySet(k for k, a in renamed.items() if a is None or (
                    a not in expected and not a.endswith(checkpoint.IGNORED_KEYS)))}

    @classmethod
    def _drop_mismatched(cls, state: dict, config: MobileBertConfig, add_pooling_layer, source: str) -> tuple:
        """transformers' ignore_mismatched_sizes: weights whose shape differs from the config's are dropped, to
        be drawn at random (a classifier with a new number of labels; a word table of another vocab_size).
        Returns the state dict and the set of (name, checkpoint shape, model shape) of each dropped weight."""
        expected = parameter_shapes(config, cls.head, add_pooling_layer)
        state = checkpoint.align_prefix(checkpoint.hf_names(state, config, source), expected)
        dropped = {(k, tuple(np.shape(v)), tuple(expected[k])) for k, v in state.items()
                   if k in expected and tuple(np.shape(v)) != tuple(expected[k])}
        if dropped:
            shapes = "; ".join(f"{k}: checkpoint {old}, model {new}" for k, old, new in sorted(dropped))
            warnings.warn(NewlyInitialisedWarning(f"{source}: weights newly initialised because the shapes did not "
                                                  f"match (ignore_mismatched_sizes=True): {shapes}"), stacklevel=3)
        names = {k for k, _, _ in dropped}
        return {k: v for k, v in state.items() if k not in names}, KeySet(dropped)

    def save_pretrained(self, save_directory: str | os.PathLike, *, state_dict: dict[str, np.ndarray] | None = None,
                        safe_serialization: bool = True, max_shard_size: Any = None, is_main_process: bool = True,
                        push_to_hub: bool = False, **kwargs: Any) -> None:
        """Write config.json and model.safetensors that both minimobilebert and transformers load (one file,
        whatever max_shard_size says)."""
        if not safe_serialization:
            raise InputError("safe_serialization=False (pytorch_model.bin) is not written by minimobilebert; "
                             "model.safetensors is, and transformers reads it")
        if push_to_hub:
            raise InputError("push_to_hub is not supported: save the folder, then upload it with huggingface_hub "
                             "(`hf upload`)")
        if kwargs:
            raise InputError(f"save_pretrained got unknown keyword argument(s) {', '.join(sorted(kwargs))}; it takes "
                             "save_directory, state_dict=, safe_serialization=True, max_shard_size=")
        if not is_main_process:
            return
        os.makedirs(save_directory, exist_ok=True)
        self.config.replace(architectures=[HEADS[self.head][1]]).save_pretrained(save_directory)
        state = self.params if state_dict is None else state_dict
        if not self.config.tie_word_embeddings and "cls.predictions.bias" in state:
            # transformers' untied LM head adds cls.predictions.decoder.bias (its own tensor then): write it
            state = dict(state, **{"cls.predictions.decoder.bias": state["cls.predictions.bias"]})
        checkpoint.save_state_dict(state, os.path.join(save_directory, "model.safetensors"))

    def state_dict(self) -> dict[str, np.ndarray]:
        """{HF name: C-contiguous float32 array}, the names transformers' state_dict() has. The dense weights
        live packed (packing.py) as transposed views; those come back as contiguous copies, because writers
        such as `safetensors.numpy.save_file` write a non-contiguous array's memory in the wrong order without
        a word. Every other tensor is returned as it is held (no copy). The masked-LM heads also list their
        decoder's tensors under transformers' names, as the same arrays (tied: the word table and
        cls.predictions.bias; untied: the decoder's bias, the one the forward adds). To change weights in
        place, use `model.params`."""
        state = dict(self.named_parameters())
        if "cls.predictions.bias" in state:
            state["cls.predictions.decoder.bias"] = state["cls.predictions.bias"]
            if self.config.tie_word_embeddings:
                state["cls.predictions.decoder.weight"] = state[self._embeddings_name]
        return state

    @property
    def all_tied_weights_keys(self) -> dict[str, str]:
        """{tied name: the name of the tensor it is}, as transformers 5 (empty when nothing is tied)."""
        return dict(self._tied_weights_keys or {}) if self.config.tie_word_embeddings else {}

    def named_buffers(self):
        """transformers' one buffer of this model: embeddings.position_ids, [1, max_position_embeddings]."""
        name = ("" if self.head == "base" else self.base_model_prefix + ".") + "embeddings.position_ids"
        yield name, np.arange(self.config.max_position_embeddings, dtype=np.int64)[None]

    def buffers(self):
        return (value for _, value in self.named_buffers())

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """The number of weights (all are "trainable" in HF's sense); `exclude_embeddings` leaves out the
        embedding tables, as HF."""
        return int(sum(v.size for k, v in self.params.items()
                       if not (exclude_embeddings and k.endswith("_embeddings.weight"))))

    def parameters(self):
        """Every weight, C-contiguous as transformers' parameters are (see named_parameters)."""
        return (value for _, value in self.named_parameters())

    def named_parameters(self):
        """(HF name, C-contiguous float32 array) pairs. As in state_dict(), the packed dense weights come as
        contiguous copies (writers such as safetensors.numpy.save_file silently write a transposed view's
        memory in the wrong order); to change a weight in place, use `model.params[name]`."""
        return ((k, v if v.flags.c_contiguous else np.ascontiguousarray(v)) for k, v in self.params.items())

    def get_input_embeddings(self):
        """The word-embedding table as an `Embedding` (callable on ids, `.weight`), the same object on every
        call; after `set_input_embeddings(module)`, that module, as in transformers."""
        weight = self.params[self._embeddings_name]
        held = self.__dict__.get("_input_embeddings")
        if held is None or held[1] is not weight:
            held = (Embedding(weight), weight)
            self._input_embeddings = held
        return held[0]

    def set_input_embeddings(self, value) -> None:
        """Replace the word-embedding table: an `Embedding`, anything with a 2-D `.weight` (torch's
        nn.Embedding), or the array itself; get_input_embeddings() then returns `value`. As in transformers,
        any size is taken here; the forward refuses a table that is not [config.vocab_size, embedding_size]
        (model.resize_token_embeddings(n) changes the vocabulary's size consistently)."""
        name = self._embeddings_name
        weight = checkpoint.as_array(getattr(value, "weight", value))  # NumPy, or a torch tensor or parameter
        if weight.ndim != 2 or not (np.issubdtype(weight.dtype, np.floating) or np.issubdtype(weight.dtype, np.integer)):
            raise InputError(f"the new word embeddings are {weight.ndim}-D {weight.dtype}; give a 2-D float table "
                             f"[vocab, embedding_size] (this model's is {self.params[name].shape}), or an object with "
                             "one as .weight")
        self.params[name] = np.ascontiguousarray(weight, dtype=np.float32)
        self.p = nest(self.params)
        self._input_embeddings = (value if hasattr(value, "weight") else Embedding(self.params[name]),
                                  self.params[name])

    def resize_token_embeddings(self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None,
                                mean_resizing: bool = True) -> Embedding:
        """Grow or shrink the vocabulary, as transformers does; after `tokenizer.add_tokens(...)`, call
        `model.resize_token_embeddings(len(tokenizer))`. Rows are kept, or cut at the end. What depends on
        the vocabulary is resized with it: the word embeddings, and for the masked-LM heads
        cls.predictions.dense (one column per token), cls.predictions.bias and an untied
        cls.predictions.decoder. New rows (columns) are the mean of the old ones (mean_resizing=True;
        transformers then adds noise of sqrt(1e-9) x their spread, we leave it out, so the result is
        reproducible), or N(0, initializer_range) (mean_resizing=False, drawn from seed 0). New entries of
        cls.predictions.bias are what transformers 5.24 leaves there (measured, tests/test_hf_dropin.py):
        0 when the decoder is tied to the word embeddings (the default), the old bias's mean when it is
        not (and mean_resizing). config.vocab_size follows. Returns the new input embeddings; with
        neither argument, the current ones, unchanged."""
        old = self.params[self._embeddings_name].shape[0]
        for name, value in (("new_num_tokens", new_num_tokens), ("pad_to_multiple_of", pad_to_multiple_of)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or value < 1):
                hf = ("" if name == "new_num_tokens" else  # transformers' words, which its tests look for
                      f" (Asking to pad the embedding matrix to a multiple of `{value}`, which is not and integer. "
                      "Please make sure to pass an integer)")
                raise InputError(f"{name} must be a positive integer or None, got {value!r}{hf}")
        if new_num_tokens is None and pad_to_multiple_of is None:
            return self.get_input_embeddings()
        new = int(old if new_num_tokens is None else new_num_tokens)
        if pad_to_multiple_of is not None:
            new = -(-new // int(pad_to_multiple_of)) * int(pad_to_multiple_of)
        config = copy.deepcopy(self.config)  # every check on the new size before any array changes
        config.vocab_size = new
        config.validate()
        rng = np.random.default_rng(0)
        resized = {}
        for name, value in self.params.items():
            axis = vocabulary_axis(name)
            if axis is None or value.shape[axis] == new:
                continue
            keep = np.take(value, np.arange(min(old, new)), axis=axis)
            shape = list(value.shape)
            shape[axis] = new - old
            if new <= old:
                grown = keep
            elif name.endswith("bias"):  # see the docstring: transformers' result, tied or not
                fill = value.mean(dtype=np.float64) if mean_resizing and not self.config.tie_word_embeddings else 0.0
                grown = np.concatenate([keep, np.full(shape, fill, np.float32)], axis=axis)
            elif mean_resizing:
                added = np.broadcast_to(value.mean(axis=axis, keepdims=True, dtype=np.float64), shape)
                grown = np.concatenate([keep, added.astype(np.float32)], axis=axis)
            else:
                added = rng.normal(0.0, self.config.initializer_range, size=shape).astype(np.float32)
                grown = np.concatenate([keep, added], axis=axis)
            resized[name] = np.ascontiguousarray(grown, dtype=np.float32)
        self.params.update(resized)
        self.config.vocab_size = new
        self.p = nest(self.params)
        return self.get_input_embeddings()

    @property
    def vocab_size(self) -> int:
        """config.vocab_size (transformers sets model.vocab_size when it resizes the embeddings)."""
        return self.config.vocab_size

    @property
    def _embeddings_name(self) -> str:
        return ("" if self.head == "base" else "mobilebert.") + "embeddings.word_embeddings.weight"

    def get_output_embeddings(self) -> Decoder | None:
        """The masked-LM heads' decoder (HF's cls.predictions.decoder, a Linear): weight [vocab, embedding_size]
        (the word-embedding table itself when tied, the default; cls.predictions.decoder.weight when not) and
        bias [vocab] (cls.predictions.bias). None for the other heads."""
        if self.head not in ("masked_lm", "pretraining"):
            return None
        untied = self.params.get("cls.predictions.decoder.weight")
        weight = self.get_input_embeddings().weight if untied is None else untied
        return Decoder(weight, self.params["cls.predictions.bias"])

    # ----------------------------------------------------------------------------- what torch scripts call
    def eval(self):
        self.training = False
        return self

    def train(self, mode: bool = True):
        """Records the mode, as torch; but minimobilebert runs inference only: the forward never applies
        dropout and computes no gradients, so train mode warns and changes no result. Fine-tune with
        transformers, save_pretrained, and load the folder here."""
        self.training = check_bool("mode", mode)
        if self.training:
            warnings.warn("model.train(): minimobilebert runs inference only (no dropout, no gradients); the forward "
                          "computes what eval mode computes", stacklevel=2)
        return self

    def to(self, *args: Any, **kwargs: Any):
        """model.to("cpu") / .to(torch.float32) return the model; another device is refused, float16 warns."""
        for value in (*args, *kwargs.values()):
            if is_cpu(value):
                continue
            try:
                _float32_only("dtype", value)
            except InputError:
                raise InputError(f"model.to({value!r}): minimobilebert runs on the CPU in float32 only") from None
        return self

    def cpu(self):
        return self

    def float(self):
        return self

    def half(self):
        _float32_only("dtype", "float16")
        return self

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    @property
    def name_or_path(self) -> str:
        return self.config.name_or_path

    @property
    def base_model(self) -> MobileBertModel:
        """The encoder alone (HF's `model.base_model`): this model itself, or a MobileBertModel sharing its
        weights: the same object on every access (as a torch submodule is), its weights looked up again each
        time (so a resized or replaced table is seen)."""
        if self.head == "base":
            return self
        base = self.__dict__.get("_base_model")
        if base is None:
            base = MobileBertModel.__new__(MobileBertModel)  # already checked weights: shared, not checked again
            base._set_hf_instance_attributes()
            self._base_model = base
        prefix = self.base_model_prefix + "."
        base.config, base.add_pooling_layer = self.config, self.add_pooling_layer
        base.params = {k[len(prefix):]: v for k, v in self.params.items() if k.startswith(prefix)}
        base.p = self._base_params
        return base

    @property
    def mobilebert(self) -> MobileBertModel:
        """transformers' `model.mobilebert` of the head classes: the encoder (see base_model). MobileBertModel
        has none, as in transformers."""
        if self.head == "base":
            raise AttributeError(f"'{type(self).__name__}' object has no attribute 'mobilebert' (it is the encoder)")
        return self.base_model

    def named_children(self):
        """The models this model holds, as torch's Module.named_children: a head class's encoder
        (`mobilebert`), nothing for MobileBertModel. The layers are not objects here: their weights are the
        dicts in `params` / `p` (see named_parameters)."""
        if self.head != "base":
            yield self.base_model_prefix, self.base_model

    def children(self):
        return (child for _, child in self.named_children())

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """This model, then its children's modules (torch's order and dotted names)."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        return (module for _, module in self.named_modules())

    @classmethod
    def can_generate(cls) -> bool:
        return False

    # ----------------------------------------------------------------------------- running
    def __call__(self, *args: Any, **kwargs: Any):
        return self.forward(*args, **kwargs)

    @property
    def _base_params(self):
        return self.p if self.head == "base" else self.p["mobilebert"]

    def _options(self, output_hidden_states, output_attentions, return_dict, kwargs: dict):
        """Resolve forward's options against the config, as transformers does when an argument is not given,
        and refuse the ones we cannot honour with InputError (not a TypeError)."""
        for name, value in kwargs.items():
            if name not in FORWARD_NONE_ONLY:
                raise InputError(
                    f"{type(self).__name__}() got an unexpected argument {name!r}; it takes input_ids, attention_mask, "
                    f"token_type_ids, position_ids, the labels of its head, output_hidden_states, output_attentions "
                    f"and return_dict")
            if value is not None:
                raise InputError(f"{name}: {FORWARD_NONE_ONLY[name]}")
        pick = lambda value, name: getattr(self.config, name) if value is None else value  # noqa: E731
        return (pick(output_hidden_states, "output_hidden_states"), pick(output_attentions, "output_attentions"),
                pick(return_dict, "return_dict"))

    def _encode(self, input_ids, attention_mask, token_type_ids, position_ids, output_hidden_states,
                output_attentions, rank: int = 2, inputs_embeds=None):
        """Validate, flatten multiple-choice inputs to [B*C, T], run the base model. Token ids or word
        vectors (inputs_embeds, [B, T, embedding_size]), exactly one of them, as transformers asks."""
        if input_ids is not None and inputs_embeds is not None:
            raise InputError("input_ids and inputs_embeds were both given: pass one of them (token ids, or word "
                             "vectors such as model.get_input_embeddings()(input_ids))")
        if input_ids is None and inputs_embeds is None:
            raise InputError("input_ids is required: the token ids from the tokenizer, shape (batch, seq) "
                             "(or inputs_embeds: word vectors, shape (batch, seq, embedding_size))")
        table = self.params[self._embeddings_name].shape  # set_input_embeddings takes any size, as transformers
        if table != (self.config.vocab_size, self.config.embedding_size):
            raise InputError(f"the word-embedding table is {table}, but config.vocab_size x embedding_size is "
                             f"{(self.config.vocab_size, self.config.embedding_size)}; set a table of that shape, or "
                             "change the vocabulary with model.resize_token_embeddings(n)")
        if inputs_embeds is None:
            ids, mask, types, positions = validate_inputs(self.config, input_ids, attention_mask, token_type_ids,
                                                          position_ids, rank)
            embeds = None
        else:
            embeds, mask, types, positions = validate_inputs_embeds(self.config, inputs_embeds, attention_mask,
                                                                    token_type_ids, position_ids, rank)
            ids = None
        if rank == 3:
            flat = lambda a: None if a is None else a.reshape(-1, a.shape[-1])  # noqa: E731
            ids, mask, types, positions = flat(ids), flat(mask), flat(types), flat(positions)
            embeds = None if embeds is None else embeds.reshape(-1, *embeds.shape[-2:])
        sequence, pooled, hidden, probs = model.mobilebert(ids, mask, types, positions, self._base_params,
                                                           self.config, self.add_pooling_layer,
                                                           bool(output_hidden_states), bool(output_attentions),
                                                           inputs_embeds=embeds)
        return sequence, pooled, None if hidden is None else tuple(hidden), None if probs is None else tuple(probs)

    @staticmethod
    def _returned(output: ModelOutput, return_dict: bool):
        """The output, or with return_dict=False its fields that are not None as a plain tuple (HF's rule)."""
        return output if return_dict else output.to_tuple()


def vocabulary_axis(name: str) -> int | None:
    """The axis of this weight that has one entry per token, or None (resize_token_embeddings)."""
    name = name.removeprefix("mobilebert.")
    if name in ("embeddings.word_embeddings.weight", "cls.predictions.decoder.weight", "cls.predictions.bias"):
        return 0
    if name == "cls.predictions.dense.weight":  # [hidden_size - embedding_size, vocab]
        return 1
    return None


def _labels(name: str, value, shape: tuple[int, ...] | None = None) -> np.ndarray:
    labels = losses.class_ids(name, value)  # integer class ids, or InputError naming `name`
    if shape is not None and labels.size != int(np.prod(shape)):
        raise losses.InputError(f"{name} has shape {labels.shape}; expected {shape} (one class id per position, "
                                f"{losses.IGNORE_INDEX} where there is no label)")
    return labels


# ------------------------------------------------------------------------------------------------- classes
# Every forward takes transformers' arguments in transformers' order; output_hidden_states, output_attentions
# and return_dict default to the config's values.


class MobileBertModel(MobileBertPreTrainedModel):
    """The encoder: last_hidden_state [B, T, 512] and pooler_output [B, 512] (None with add_pooling_layer=False)."""

    head = "base"

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                output_hidden_states=None, output_attentions=None, return_dict=None, **kwargs):
        output_hidden_states, output_attentions, return_dict = self._options(
            output_hidden_states, output_attentions, return_dict, kwargs)
        seq, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                                 output_hidden_states, output_attentions,
                                                 inputs_embeds=inputs_embeds)
        return self._returned(BaseModelOutputWithPooling(seq, pooled, hidden, attn), return_dict)


class MobileBertForPreTraining(MobileBertPreTrainedModel):
    """Masked-LM and next-sentence heads; loss = MLM + NSP when both labels and next_sentence_label given."""

    head = "pretraining"
    _tied_weights_keys = TIED_LM_WEIGHTS

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                labels=None, next_sentence_label=None, output_hidden_states=None, output_attentions=None,
                return_dict=None, **kwargs):
        output_hidden_states, output_attentions, return_dict = self._options(
            output_hidden_states, output_attentions, return_dict, kwargs)
        seq, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                                 output_hidden_states, output_attentions,
                                                 inputs_embeds=inputs_embeds)
        word_embeddings = self.p["mobilebert"]["embeddings"]["word_embeddings"]["weight"]
        logits = heads.lm_prediction_head(seq, self.p["cls"]["predictions"], word_embeddings, self.config)
        nsp = heads.seq_relationship(pooled, self.p["cls"]["seq_relationship"])
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = np.float32(losses.cross_entropy(logits, _labels("labels", labels, seq.shape[:2]))
                              + losses.cross_entropy(nsp, _labels("next_sentence_label", next_sentence_label)))
        return self._returned(MobileBertForPreTrainingOutput(loss, logits, nsp, hidden, attn), return_dict)


class MobileBertForMaskedLM(MobileBertPreTrainedModel):
    """Masked-LM head; labels [B, T] with -100 where no prediction is scored."""

    head = "masked_lm"
    _tied_weights_keys = TIED_LM_WEIGHTS

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                labels=None, output_hidden_states=None, output_attentions=None, return_dict=None, **kwargs):
        output_hidden_states, output_attentions, return_dict = self._options(
            output_hidden_states, output_attentions, return_dict, kwargs)
        seq, _, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                            output_hidden_states, output_attentions,
                                            inputs_embeds=inputs_embeds)
        word_embeddings = self.p["mobilebert"]["embeddings"]["word_embeddings"]["weight"]
        logits = heads.lm_prediction_head(seq, self.p["cls"]["predictions"], word_embeddings, self.config)
        loss = None if labels is None else losses.cross_entropy(logits, _labels("labels", labels, seq.shape[:2]))
        return self._returned(MaskedLMOutput(loss, logits, hidden, attn), return_dict)


class MobileBertForNextSentencePrediction(MobileBertPreTrainedModel):
    """Next-sentence head on the pooled [CLS] vector; labels [B] of 0 (continuation) / 1 (random)."""

    head = "next_sentence"

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                labels=None, output_hidden_states=None, output_attentions=None, return_dict=None, **kwargs):
        output_hidden_states, output_attentions, return_dict = self._options(
            output_hidden_states, output_attentions, return_dict, kwargs)
        _, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                               output_hidden_states, output_attentions,
                                               inputs_embeds=inputs_embeds)
        logits = heads.seq_relationship(pooled, self.p["cls"]["seq_relationship"])
        loss = None if labels is None else losses.cross_entropy(logits, _labels("labels", labels))
        return self._returned(NextSentencePredictorOutput(loss, logits, hidden, attn), return_dict)


class MobileBertForSequenceClassification(MobileBertPreTrainedModel):
    """Classifier on the pooled vector. The loss follows config.problem_type, or, when unset, HF's rule:
    1 label -> regression (MSE); integer labels -> single-label (cross-entropy); else multi-label (BCE)."""

    head = "sequence_classification"

    def problem_type(self, labels: np.ndarray) -> str:
        if self.config.problem_type is not None:
            return self.config.problem_type
        if self.config.num_labels == 1:
            return "regression"
        if np.issubdtype(labels.dtype, np.integer):
            return "single_label_classification"
        return "multi_label_classification"

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                labels=None, output_hidden_states=None, output_attentions=None, return_dict=None, **kwargs):
        output_hidden_states, output_attentions, return_dict = self._options(
            output_hidden_states, output_attentions, return_dict, kwargs)
        _, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                               output_hidden_states, output_attentions,
                                               inputs_embeds=inputs_embeds)
        logits = heads.classifier(pooled, self.p["classifier"])  # [B, 512] -> [B, num_labels]
        loss = None
        if labels is not None:
            labels = np.asarray(labels)
            kind = self.problem_type(labels)
            if kind == "regression":
                loss = losses.mse(logits.squeeze() if self.config.num_labels == 1 else logits, labels.squeeze()
                                  if self.config.num_labels == 1 else labels)
            elif kind == "single_label_classification":
                loss = losses.cross_entropy(logits, labels)
            else:
                loss = losses.binary_cross_entropy_with_logits(logits, labels)
        return self._returned(SequenceClassifierOutput(loss, logits, hidden, attn), return_dict)


class MobileBertForMultipleChoice(MobileBertPreTrainedModel):
    """Scores each (context, choice) pair: inputs [B, C, T] -> logits [B, C]; labels [B] = the right choice."""

    head = "multiple_choice"

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                labels=None, output_hidden_states=None, output_attentions=None, return_dict=None, **kwargs):
        output_hidden_states, output_attentions, return_dict = self._options(
            output_hidden_states, output_attentions, return_dict, kwargs)
        given, rank = (input_ids, 3) if inputs_embeds is None else (inputs_embeds, 4)
        num_choices = np.shape(given)[1] if np.ndim(given) == rank else None
        _, pooled, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                               output_hidden_states, output_attentions, rank=3,
                                               inputs_embeds=inputs_embeds)
        logits = heads.classifier(pooled, self.p["classifier"]).reshape(-1, num_choices)  # [B*C, 1] -> [B, C]
        loss = None if labels is None else losses.cross_entropy(logits, _labels("labels", labels))
        return self._returned(MultipleChoiceModelOutput(loss, logits, hidden, attn), return_dict)


class MobileBertForTokenClassification(MobileBertPreTrainedModel):
    """A label per token (e.g. NER); labels [B, T] with -100 on positions not scored."""

    head = "token_classification"

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                labels=None, output_hidden_states=None, output_attentions=None, return_dict=None, **kwargs):
        output_hidden_states, output_attentions, return_dict = self._options(
            output_hidden_states, output_attentions, return_dict, kwargs)
        seq, _, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                            output_hidden_states, output_attentions,
                                            inputs_embeds=inputs_embeds)
        logits = heads.classifier(seq, self.p["classifier"])  # [B, T, 512] -> [B, T, num_labels]
        loss = None if labels is None else losses.cross_entropy(logits, _labels("labels", labels, seq.shape[:2]))
        return self._returned(TokenClassifierOutput(loss, logits, hidden, attn), return_dict)


class MobileBertForQuestionAnswering(MobileBertPreTrainedModel):
    """Extractive QA: start/end logits per token. The loss averages start and end cross-entropy;
    positions outside the sequence are clamped to T and ignored, as in HF."""

    head = "question_answering"

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                start_positions=None, end_positions=None, output_hidden_states=None, output_attentions=None,
                return_dict=None, **kwargs):
        output_hidden_states, output_attentions, return_dict = self._options(
            output_hidden_states, output_attentions, return_dict, kwargs)
        labels = self.p["qa_outputs"]["weight"].shape[0]
        if labels != 2:  # transformers fails here too ("too many values to unpack"), after the encoder has run
            raise ConfigError(f"MobileBertForQuestionAnswering needs num_labels=2 (a start and an end logit per "
                              f"token), but its qa_outputs layer has {labels}; set num_labels=2 in the config, or "
                              f"use MobileBertForTokenClassification for per-token labels")
        seq, _, hidden, attn = self._encode(input_ids, attention_mask, token_type_ids, position_ids,
                                            output_hidden_states, output_attentions,
                                            inputs_embeds=inputs_embeds)
        start_logits, end_logits = heads.qa_outputs(seq, self.p["qa_outputs"])  # [B, T], [B, T]
        loss = None
        if start_positions is not None and end_positions is not None:
            T = seq.shape[1]
            start = np.clip(_labels("start_positions", start_positions).reshape(-1), 0, T)  # [B], T = ignored
            end = np.clip(_labels("end_positions", end_positions).reshape(-1), 0, T)
            loss = np.float32((losses.cross_entropy(start_logits, start, ignore_index=T)
                               + losses.cross_entropy(end_logits, end, ignore_index=T)) / 2)
        return self._returned(QuestionAnsweringModelOutput(loss, start_logits, end_logits, hidden, attn), return_dict)


MODEL_CLASSES = {cls.head: cls for cls in (
    MobileBertModel, MobileBertForPreTraining, MobileBertForMaskedLM, MobileBertForNextSentencePrediction,
    MobileBertForSequenceClassification, MobileBertForMultipleChoice, MobileBertForTokenClassification,
    MobileBertForQuestionAnswering,
)}
