"""A run's events as JSON lines and back: every kind reads back as it was written, and a line from another process
that is not one of ours (a missing field, a value of the wrong type, an unknown kind) is refused in a sentence."""

from __future__ import annotations

import json

import pytest

from models.train_events import (
    EVENT_CLASSES,
    CheckpointEvent,
    DoneEvent,
    ErrorEvent,
    NotAnEvent,
    PausedEvent,
    ResumedEvent,
    SamplesEvent,
    StartEvent,
    StepEvent,
    WarningEvent,
    event_from_dict,
)

EXAMPLES = [
    StartEvent(family="vae", device="CPU", dataset="Synthetic Faces", images=32, skipped=["a.png: not an image"],
               skipped_count=1, step=0, total_steps=10, parameters=1000, out="/runs/a", world_size=2, resumed=True,
               checkpoint_step=None),
    StartEvent(family="toy", device="CPU", dataset="d", images=1, skipped=[], skipped_count=0, step=4, total_steps=9,
               parameters=1, out="o", checkpoint_step=4),
    StepEvent(step=3, total_steps=10, losses={"loss": 0.5, "kl": 2.0}, images_per_second=64.0, eta_seconds=None,
              elapsed_seconds=1.5, extra={"active_dims": 3, "kl_per_dim": [0.1, 0.2]}),
    StepEvent(step=4, total_steps=10, losses={}, images_per_second=0.0, eta_seconds=12.5, elapsed_seconds=0.0),
    SamplesEvent(step=5, path="/runs/a/samples_000005.png", diversity=0.75),
    SamplesEvent(step=5, path="p"),
    CheckpointEvent(step=6, path="/runs/a/model.safetensors"),
    PausedEvent(step=7),
    ResumedEvent(step=7),
    WarningEvent(message="a note"),
    ErrorEvent(message="it failed"),
    DoneEvent(step=8, reason="finished"),
]


def test_every_kind_of_event_reads_back_as_it_was_written():
    assert {type(e) for e in EXAMPLES} == set(EVENT_CLASSES)
    for event in EXAMPLES:
        line = json.dumps(event.to_dict())
        assert event_from_dict(json.loads(line)) == event, line


def test_whole_numbers_do_for_numbers_and_become_floats():
    step = event_from_dict({**EXAMPLES[3].to_dict(), "losses": {"loss": 1}, "images_per_second": 64,
                            "eta_seconds": 3, "elapsed_seconds": 0})
    assert step.losses == {"loss": 1.0} and type(step.losses["loss"]) is float
    assert type(step.images_per_second) is float and type(step.eta_seconds) is float


def test_keys_a_newer_run_adds_are_passed_over():
    assert event_from_dict({"event": "paused", "step": 3, "why": "asked"}) == PausedEvent(3)


@pytest.mark.parametrize("data, words", [
    ("not an object", "JSON object"),
    (["event", "step"], "JSON object"),
    ({"step": 3}, "not a training event"),
    ({"event": "explode", "step": 3}, "'explode' is not a training event"),
    ({"event": ["step"], "step": 3}, "not a training event"),
    ({"event": "paused"}, "a paused event has no 'step'"),
    ({"event": "paused", "step": "3"}, "'step' is not a whole number"),
    ({"event": "paused", "step": 3.0}, "'step' is not a whole number"),
    ({"event": "paused", "step": True}, "'step' is not a whole number"),  # a bool is not a step
    ({"event": "paused", "step": None}, "'step' is not a whole number"),
    ({"event": "done", "step": 3, "reason": 1}, "'reason' is not text"),
    ({"event": "warning", "message": {"text": "x"}}, "'message' is not text"),
    ({**EXAMPLES[3].to_dict(), "losses": {"loss": "1"}}, "'losses' is not an object"),
    ({**EXAMPLES[3].to_dict(), "losses": [1.0]}, "'losses' is not an object"),
    ({**EXAMPLES[3].to_dict(), "losses": {"loss": False}}, "'losses' is not an object"),
    ({**EXAMPLES[3].to_dict(), "eta_seconds": "soon"}, "'eta_seconds' is not a number or null"),
    ({**EXAMPLES[3].to_dict(), "extra": []}, "'extra' is not an object"),
    ({**EXAMPLES[0].to_dict(), "skipped": "a.png"}, "'skipped' is not a list"),
    ({**EXAMPLES[0].to_dict(), "skipped": [1]}, "'skipped' is not a list"),
    ({**EXAMPLES[0].to_dict(), "resumed": 1}, "'resumed' is not true or false"),
    ({**EXAMPLES[0].to_dict(), "checkpoint_step": 1.5}, "'checkpoint_step' is not a whole number or null"),
    ({**EXAMPLES[4].to_dict(), "diversity": "high"}, "'diversity' is not a number or null"),
])
def test_a_line_that_is_not_one_of_ours_is_refused_in_a_sentence(data, words):
    with pytest.raises(NotAnEvent, match=words.replace("(", r"\(")) as refused:
        event_from_dict(data)
    assert isinstance(refused.value, ValueError) and "\n" not in str(refused.value)
