"""The one progress type: its fields by name after the words, and `finished` only when the total is known."""

import pytest

from models.progress import Progress


def test_a_call_in_an_older_field_order_fails_at_once():
    with pytest.raises(TypeError):
        Progress(1, 1, "words", object())  # an older Progress took (step, total, state, image)


def test_finished_needs_a_known_total():
    assert Progress(3, 3).finished and not Progress(2, 3).finished
    assert not Progress(5, 0).finished  # 0: the total is not known
