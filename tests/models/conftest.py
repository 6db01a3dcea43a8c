"""Fixtures shared by the model tests."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models: on a busy machine, two threads waiting for each other cost far more than they give."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
