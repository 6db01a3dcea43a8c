"""`python main.py interpolate`: strips and GIFs for slides, with large faces and a title line."""

from __future__ import annotations

import pytest
from PIL import Image

from explorer.cli.main import main


def interpolate(checkpoint, out, *extra):
    return main(["interpolate", "--checkpoint", checkpoint, "--seeds", "1", "2", "--frames", "3", "--device", "cpu",
                 "--steps", "2", "--out", str(out), *extra])


def test_the_strip_has_512_px_faces_and_a_title_by_default(tiny_checkpoints, tmp_path):
    assert interpolate(tiny_checkpoints["vae"], tmp_path / "strip.png", "--mode", "lerp") == 0
    with Image.open(tmp_path / "strip.png") as strip:
        assert strip.height >= 512 and strip.width >= 3 * 512
        title = strip.text["Title"]
        top = strip.convert("L").crop((0, 0, strip.width, strip.height - 512))
    assert title.startswith("VAE · 16 px · step 7")
    assert "seed 1 to seed 2" in title and "straight line (lerp)" in title and "3 frames" in title
    assert top.getextrema()[0] < 100  # the title band above the faces has dark text in it


def test_the_gif_has_a_title_and_the_size_option_sets_the_faces(tiny_checkpoints, tmp_path):
    assert interpolate(tiny_checkpoints["gan"], tmp_path / "big.gif") == 0
    assert interpolate(tiny_checkpoints["gan"], tmp_path / "small.gif", "--size", "256") == 0
    with Image.open(tmp_path / "big.gif") as big, Image.open(tmp_path / "small.gif") as small:
        assert big.n_frames == 3 + 1
        assert big.width >= 512 and 512 <= big.height < 2 * 512
        assert 256 <= small.width < 512 and 256 <= small.height < 512
        assert "great circle (slerp)" in big.info["comment"].decode()


def test_a_face_size_out_of_range_is_refused(tiny_checkpoints, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        interpolate(tiny_checkpoints["vae"], tmp_path / "x.png", "--size", "5")
    assert exit_.value.code == 2
    assert "--size: should be a whole number from 16 to 2,048, not '5'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
