"""The opt-in published-value tests (test_published.py) run only on real checkpoints, which no machine here
has. So that they cannot rot unnoticed, this runs them on random-weight checkpoints of the same heads,
shapes and labels: each must either pass or fail on an assertion (about a published value, which random
weights do not reproduce), never crash on the way there."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import minimobilebert as mm

HERE = os.path.dirname(os.path.abspath(__file__))
EMOTIONS = {0: "others", 1: "happy", 2: "sad", 3: "angry"}  # lordtt13/emo-mobilebert
NER_LABELS = dict(enumerate(["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]))


def write_checkpoint(folder, model_class, **config_changes) -> str:
    config = mm.MobileBertConfig.published(num_hidden_layers=2).replace(**config_changes)
    model_class(config, seed=0).save_pretrained(folder)
    mm.MobileBertTokenizer().save_pretrained(folder)
    return str(folder)


def test_published_tests_reach_their_assertions(tmp_path):
    env = dict(os.environ,
               MINIMOBILEBERT_CHECKPOINT=write_checkpoint(tmp_path / "base", mm.MobileBertForPreTraining),
               MINIMOBILEBERT_SQUAD_CHECKPOINT=write_checkpoint(tmp_path / "squad", mm.MobileBertForQuestionAnswering),
               MINIMOBILEBERT_EMO_CHECKPOINT=write_checkpoint(tmp_path / "emo", mm.MobileBertForSequenceClassification,
                                                              id2label=EMOTIONS),
               MINIMOBILEBERT_NER_CHECKPOINT=write_checkpoint(tmp_path / "ner", mm.MobileBertForTokenClassification,
                                                              id2label=NER_LABELS))
    report = tmp_path / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.join(HERE, "test_published.py"),
                    f"--junitxml={report}"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes = {}
    for case in cases:
        problems = [child for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name")] = "passed" if not problems else \
            f"{problems[0].tag}: {problems[0].get('message', '')[:300]}"
    assert len(outcomes) >= 10, outcomes
    crashed = {name: outcome for name, outcome in outcomes.items()
               if outcome != "passed" and not outcome.startswith(("failure: AssertionError", "failure: assert"))}
    assert not crashed, crashed
