"""Pictures for slides: faces enlarged with crisp pixels, a title line, each model named beside its row or column."""

from __future__ import annotations

import numpy as np

from explorer.pictures.slide_pictures import (
    MAX_SIDE,
    Label,
    enlarge,
    morph_frames,
    morph_strip,
    morph_title,
    plain_text,
    slide_picture,
)

RED, BLUE, GREEN = (220, 30, 30), (30, 60, 220), (30, 180, 60)
LABELS = [Label("VAE", "VAE · 64 px · step 20,000"), Label("GAN", "GAN · 64 px · step 30,000"),
          Label("Diffusion", "Diffusion · 32 px · step 120,000")]


def solid(colour, size):
    return np.full((size, size, 3), colour, np.uint8)


def strips(frames=4):
    """Three models' morphs, each in one colour: the VAE's and GAN's at 64 px, diffusion's at 32 px."""
    return [np.stack([solid(RED, 64)] * frames), np.stack([solid(BLUE, 64)] * frames),
            np.stack([solid(GREEN, 32)] * frames)]


def where(picture, colour):
    """(top, bottom, left, right) of the pixels of exactly this colour."""
    ys, xs = np.nonzero(np.all(picture == colour, axis=-1))
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def ink(picture):
    """Where text is: dark, colourless pixels."""
    return (picture.max(-1) < 140) & (np.ptp(picture.astype(int), axis=-1) < 40)


def groups(mask_1d, gap):
    """How many runs of True there are, runs closer than `gap` counting as one."""
    idx = np.flatnonzero(mask_1d)
    return 0 if idx.size == 0 else 1 + int(np.sum(np.diff(idx) > gap))


def test_faces_of_both_sizes_are_enlarged_to_the_face_size_with_crisp_pixels():
    face = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    big = enlarge(face, 512)
    assert big.shape == (512, 512, 3)
    assert np.array_equal(big[::16, ::16], face)  # every source pixel is a 16 x 16 block, no smoothing
    assert len(np.unique(big.reshape(-1, 3), axis=0)) == len(np.unique(face.reshape(-1, 3), axis=0))
    picture = morph_strip(strips(), LABELS, "title", 512)
    for colour, frames in ((RED, 4), (GREEN, 4)):
        top, bottom, left, right = where(picture, colour)
        assert bottom - top == 512  # the 64 px VAE and the 32 px diffusion model both get 512 px faces
        assert np.all(picture[top:bottom, left:left + 512] == colour)


def test_the_strip_has_a_title_line_above_the_faces_that_says_lerp_or_slerp():
    title = {mode: morph_title(["VAE", "GAN", "Diffusion"], "seed 1", "seed 2", mode, 4) for mode in ("lerp", "slerp")}
    assert "straight line (lerp)" in title["lerp"] and "great circle (slerp)" in title["slerp"]
    assert "seed 1 to seed 2" in title["lerp"] and "4 frames" in title["lerp"]
    pictures = {mode: morph_strip(strips(), LABELS, title[mode], 512) for mode in title}
    faces_top = where(pictures["lerp"], RED)[0]
    bands = {mode: p[:faces_top] for mode, p in pictures.items()}
    assert ink(bands["lerp"]).sum() > 1000  # the title is drawn, not an empty band
    assert not np.array_equal(bands["lerp"], bands["slerp"])


def test_every_model_is_named_beside_its_row_when_there_are_several():
    picture = morph_strip(strips(), LABELS, "VAE, GAN and Diffusion", 512)
    left_of_faces = where(picture, RED)[2]
    for colour in (RED, BLUE, GREEN):
        top, bottom, left, _ = where(picture, colour)
        assert left == left_of_faces  # the rows line up
        assert ink(picture[top:bottom, :left_of_faces]).sum() > 500, colour  # this row's label
    label_column = ink(picture[:, :left_of_faces]).any(axis=1)
    assert groups(label_column, gap=100) == 4  # the title and three labels, one per row
    one = morph_strip(strips()[:1], LABELS[:1], "VAE · 64 px · step 20,000: seed 1 to seed 2", 512)
    assert where(one, RED)[2] < left_of_faces  # one model: named in the title, no label column


def test_animation_frames_name_every_model_above_its_column():
    frames = morph_frames(strips(3), LABELS, "VAE, GAN and Diffusion", 512)
    assert len(frames) == 3
    picture = frames[0]
    top = where(picture, RED)[0]
    for colour in (RED, BLUE, GREEN):
        face_top, _, left, right = where(picture, colour)
        assert right - left == 512 and face_top == top
        above = ink(picture[:top, left:right])
        assert groups(above.any(axis=1), gap=20) >= 2  # the title line, then the model's name and details
    title_only = morph_frames(strips(3)[:1], LABELS[:1], "VAE", 512)[0]
    assert where(title_only, RED)[0] < top  # one model: nothing between the title and the face


def test_the_caption_and_sizes_follow_the_face_size():
    small = slide_picture([[solid(RED, 64)]], 256, "A title", caption="step 3 of 50")
    large = slide_picture([[solid(RED, 64)]], 1024, "A title", caption="step 3 of 50")
    assert where(small, RED)[1] - where(small, RED)[0] == 256
    assert where(large, RED)[1] - where(large, RED)[0] == 1024
    assert ink(large[where(large, RED)[1]:]).sum() > ink(small[where(small, RED)[1]:]).sum() > 0  # the caption


def test_a_long_title_wraps_inside_the_picture_and_a_huge_strip_gets_smaller_faces():
    name = "a_very_long_file_name_of_a_holiday_photo_of_my_grandmother_2019.png"
    short = morph_frames(strips(2)[:1], LABELS[:1], "VAE", 512)[0]
    long = morph_frames(strips(2)[:1], LABELS[:1], morph_title(["VAE"], name, "seed 2", "lerp", 2), 512)[0]
    assert long.shape[1] == short.shape[1] and long.shape[0] > short.shape[0] + 100  # more lines, same width
    huge = morph_strip([np.stack([solid(RED, 64)] * 64)], LABELS[:1], "VAE", 1024)
    assert max(huge.shape[:2]) <= MAX_SIDE
    assert where(huge, RED)[1] - where(huge, RED)[0] < 1024


def test_text_the_built_in_font_cannot_draw_is_written_out():
    assert plain_text("José — x₀, η 0.5, ψ") == "Jose - x0, eta 0.5, psi"
    assert plain_text("VAE · 64 px") == "VAE · 64 px"
    assert plain_text("顔.png") == "?.png"
