"""minimobilebert: MobileBERT (Sun et al., 2020) from scratch in NumPy.

    from minimobilebert import MobileBertForMaskedLM
    model = MobileBertForMaskedLM.from_pretrained("path/to/google-mobilebert-uncased")
    logits = model(input_ids).logits          # input_ids: int array [batch, seq]
"""

from .backend import available_backends, current_backend, use_backend
from .capture import capture
from .config import ConfigError, MobileBertConfig
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
from .torch_pickle import CheckpointError

__version__ = "0.1.0"

__all__ = [
    "MODEL_CLASSES", "CheckpointError", "ConfigError", "MobileBertConfig", "MobileBertForMaskedLM",
    "MobileBertForMultipleChoice", "MobileBertForNextSentencePrediction", "MobileBertForPreTraining",
    "MobileBertForQuestionAnswering", "MobileBertForSequenceClassification", "MobileBertForTokenClassification",
    "MobileBertModel", "MobileBertPreTrainedModel", "available_backends", "capture", "current_backend",
    "use_backend",
]
