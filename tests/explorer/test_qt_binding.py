"""The installed Qt binding must not lose references: a long session makes millions of Qt calls."""

import sys

import pytest
from PySide6.QtWidgets import QWidget


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12: a lost reference is harmless")
def test_calls_that_return_nothing_keep_none_alive(qapp):
    widget = QWidget()
    before = sys.getrefcount(None)
    for _ in range(500):
        widget.update()
        qapp.processEvents()
    # PySide6 6.12.0 drops 1,000 references here; Python aborts once None's count reaches zero.
    assert sys.getrefcount(None) > before - 100
