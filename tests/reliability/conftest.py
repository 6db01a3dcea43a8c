"""The app fixtures of tests/explorer (tiny checkpoints of each family, an isolated MainWindow), shared here."""

from tests.explorer.conftest import app_env, tiny_checkpoints, window  # noqa: F401 - pytest finds fixtures by name
