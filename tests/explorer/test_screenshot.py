"""`python main.py --screenshot PATH --tab T [--size WxH] [--presenter]` draws the real window offscreen and exits 0;
on a projector's 1024x768 in presenter mode no tab has anything cut off."""

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
def test_every_tab_in_presenter_mode_on_a_projector_has_nothing_cut_off(tab, tiny_checkpoints, tmp_path,
                                                                         _private_cache):
    out = tmp_path / f"{tab}.png"
    env = {**os.environ, "LATENT_EXPLORER_MODELS": os.pathsep.join(tiny_checkpoints.values()),
           "LATENT_EXPLORER_CACHE": str(_private_cache), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--screenshot", str(out), "--tab", tab,
                             "--size", "1024x768", "--presenter"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [line for line in result.stderr.splitlines() if line.startswith("layout:")] == []
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(float)
    assert pixels.shape[:2] == (768, 1024)  # full screen on the projector, not wider
    assert pixels.std() > 10  # not a blank window


def test_a_screen_size_that_is_not_one_is_refused_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--screenshot", str(tmp_path / "x.png"),
                             "--size", "huge"], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 2 and "not a size like 1024x768" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_model_yet_is_a_clear_state(tmp_path, _private_cache):
    out = tmp_path / "empty.png"
    env = {**os.environ, "LATENT_EXPLORER_MODELS": str(tmp_path / "nothing-here"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--screenshot", str(out)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(float)
    height, width = pixels.shape[:2]
    assert width >= 600 and height >= 400  # the whole window, not an empty or tiny file
    assert pixels.std() > 10  # a drawn window, not a blank one
    # The Explore tab's picture (the left third) holds no face: its upper part is one flat colour, and the
    # placeholder's line of text sits across its middle.
    box = pixels[int(0.15 * height):int(0.38 * height), int(0.05 * width):int(0.38 * width)]
    assert box.std(axis=(0, 1)).max() < 1.0, "a face (or something) is drawn where the placeholder should be"
    text = pixels[int(0.40 * height):int(0.50 * height), int(0.05 * width):int(0.38 * width)]
    assert text.min() < box.mean() - 60, "no placeholder text in the picture's place"
