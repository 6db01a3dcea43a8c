"""Where the shipped files are (models, their cards and analyses, the feature network): the `resources` package.

`importlib.resources` finds it wherever the app is: the source tree (`python main.py`), an editable install,
or a wheel installed by pip or pipx, whose copy of `resources/` lies in site-packages beside `models/`.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def resources_dir() -> Path:
    """The folder that holds the shipped files."""
    try:
        return Path(os.fspath(files("resources")))  # pip and pipx unpack wheels: a real folder, never a zip
    except (ModuleNotFoundError, TypeError):  # an editable install older than the package; a namespace package
        return Path(__file__).resolve().parent.parent / "resources"
