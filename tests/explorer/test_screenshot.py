"""`python main.py --screenshot PATH --tab T` draws the real window offscreen and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("tab", ["explore", "interpolate", "diffusion", "train", "compare"])
def test_screenshot_of_every_tab_is_a_real_picture(tab, tiny_checkpoints, tmp_path, _private_cache):
    out = tmp_path / f"{tab}.png"
    env = {**os.environ, "LATENT_EXPLORER_MODELS": os.pathsep.join(tiny_checkpoints.values()),
           "LATENT_EXPLORER_CACHE": str(_private_cache), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--screenshot", str(out), "--tab", tab],
                            capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(float)
    assert pixels.shape[0] > 400 and pixels.shape[1] > 600
    assert pixels.std() > 10  # not a blank window


def test_no_model_yet_is_a_clear_state(tmp_path, _private_cache):
    out = tmp_path / "empty.png"
    env = {**os.environ, "LATENT_EXPLORER_MODELS": str(tmp_path / "nothing-here"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--screenshot", str(out)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.exists()
