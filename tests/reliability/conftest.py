"""The app fixtures of tests/explorer (tiny checkpoints of each family, an isolated MainWindow), shared here,
and a server of forked `main.py` runs."""

import pytest

from tests.explorer.conftest import app_env, tiny_checkpoints, window  # noqa: F401 - pytest finds fixtures by name


@pytest.fixture(scope="module")
def fork_server():
    """A server of `main.py` forks (see fork_server.py), one per test module."""
    from tests.reliability.forked_runs import start_fork_server, stop_fork_server

    server = start_fork_server()
    yield server
    stop_fork_server(server)
