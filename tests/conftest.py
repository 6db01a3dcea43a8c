"""Shared test set-up: headless Qt, and a private cache folder so tests never touch the user's."""

import json
import os
import tempfile

import pytest

# Qt's offscreen platform, on a virtual 1600x1000 screen (its own default, 800x800, is smaller than the window the
# app opens, so no test could see the window at the size a person's screen gives it).
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    _screen = {"screens": [{"name": "test", "x": 0, "y": 0, "width": 1600, "height": 1000, "logicalDpi": 96,
                            "logicalBaseDpi": 96, "dpr": 1}]}
    _config = os.path.join(tempfile.mkdtemp(prefix="latent-explorer-tests-"), "screen.json")
    with open(_config, "w") as _file:
        json.dump(_screen, _file)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_config}"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    old = os.environ.get("LATENT_EXPLORER_CACHE")
    os.environ["LATENT_EXPLORER_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("LATENT_EXPLORER_CACHE", None)
    else:
        os.environ["LATENT_EXPLORER_CACHE"] = old


@pytest.fixture(autouse=True, scope="session")
def _private_log(tmp_path_factory):
    """Tracebacks of unexpected errors go to a log in the user's state folder: here, to a temporary one."""
    old = os.environ.get("LATENT_EXPLORER_STATE")
    os.environ["LATENT_EXPLORER_STATE"] = str(tmp_path_factory.mktemp("state"))
    yield
    if old is None:
        os.environ.pop("LATENT_EXPLORER_STATE", None)
    else:
        os.environ["LATENT_EXPLORER_STATE"] = old


# A developer's own model-family plug-ins would change what every test sees: the tests name their own.
os.environ.pop("LATENT_EXPLORER_FAMILIES", None)


@pytest.fixture(autouse=True)
def _families_as_they_were():
    """A test that registers a model family takes it out again: the next test sees the built-in families only."""
    from models.family import family_names, unregister_family

    before = family_names()
    yield
    after = family_names()
    for left in set(after) - set(before):
        unregister_family(left)
    assert after == before, f"the test left the model families {after} registered (before it: {before})"
