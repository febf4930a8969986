"""minimobilebert: MobileBERT (Sun et al., 2020) from scratch in NumPy.

    from minimobilebert import MobileBertForMaskedLM
    model = MobileBertForMaskedLM.from_pretrained("path/to/google-mobilebert-uncased")
    logits = model(input_ids).logits          # input_ids: int array [batch, seq]

    from minimobilebert import MobileBertTokenizer, pipeline
    MobileBertTokenizer()("Hello, my dog is cute")["input_ids"]      # the BERT uncased vocab ships with us
    pipeline("fill-mask", "path/to/checkpoint")("The capital of France is [MASK].")
"""

from . import startup  # noqa: F401 - first: in the command, Ctrl-C while importing is one line
from .auto import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForMultipleChoice,
    AutoModelForNextSentencePrediction,
    AutoModelForPreTraining,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
)
from .backend import available_backends, current_backend, use_backend
from .capture import capture
from .config import MobileBertConfig
from .errors import (
    CheckpointError,
    ConfigError,
    InputError,
    MiniMobileBertError,
    MissingWeightsWarning,
    NewlyInitialisedWarning,
    TokenizerError,
)
from .modeling import (
    MODEL_CLASSES,
    MobileBertForMaskedLM,
    MobileBertForMultipleChoice,
    MobileBertForNextSentencePrediction,
    MobileBertForPreTraining,
    MobileBertForQuestionAnswering,
    MobileBertForSequenceClassification,
    MobileBertForTokenClassification,
    MobileBertModel,
    MobileBertPreTrainedModel,
)
from .pipelines import pipeline
from .sentence import SentenceEncoder
from .tokenizer import AddedToken, MobileBertTokenizer

# transformers' other names for this one tokenizer (BERT's WordPiece; it answers the fast tokenizer's API),
# so that `from transformers import BertTokenizerFast, AddedToken` becomes an import from here
MobileBertTokenizerFast = BertTokenizer = BertTokenizerFast = MobileBertTokenizer

__version__ = "0.1.0"

__all__ = [
    "AutoConfig", "AutoModel", "AutoModelForMaskedLM", "AutoModelForMultipleChoice", "AutoModelForNextSentencePrediction",
    "AutoModelForPreTraining", "AutoModelForQuestionAnswering", "AutoModelForSequenceClassification",
    "AutoModelForTokenClassification", "AutoTokenizer", "AddedToken", "BertTokenizer", "BertTokenizerFast",
    "MobileBertTokenizerFast",
    "MODEL_CLASSES", "CheckpointError", "ConfigError", "InputError", "MiniMobileBertError", "MissingWeightsWarning",
    "NewlyInitialisedWarning", "TokenizerError", "MobileBertConfig", "MobileBertForMaskedLM",
    "MobileBertForMultipleChoice", "MobileBertForNextSentencePrediction", "MobileBertForPreTraining",
    "MobileBertForQuestionAnswering", "MobileBertForSequenceClassification", "MobileBertForTokenClassification",
    "MobileBertModel", "MobileBertPreTrainedModel", "MobileBertTokenizer", "SentenceEncoder", "available_backends", "capture", "current_backend",
    "pipeline", "use_backend",
]
