"""Model families from outside the app: plug-in modules named in LATENT_EXPLORER_FAMILIES, and what the registry
refuses to take from them (whatever would break the command line or the Train tab for every family)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from models.config_check import Flag
from models.family import PLUG_INS, Option, family_names, get_family, register_family
from models.train_settings import SETTINGS
from tests import toy_family

ROOT = Path(__file__).resolve().parents[2]


def families_in_a_fresh_process(plug_ins: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, PLUG_INS: plug_ins, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    return subprocess.run([sys.executable, "-c", "from models.family import family_names; print(*family_names())"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_plug_in_adds_its_family_and_a_broken_one_is_one_sentence(tmp_path):
    (tmp_path / "half_made.py").write_text("from tests.toy_family import register\nregister()\nraise RuntimeError('oops')\n")
    done = families_in_a_fresh_process("tests.toy_plug_in", tmp_path)
    assert done.returncode == 0 and done.stdout.split() == ["vae", "vae-gan", "gan", "diffusion", "latent-diffusion", "toy"], done.stderr
    done = families_in_a_fresh_process("no_such_module, half_made", tmp_path)
    assert done.returncode == 0 and done.stdout.split() == ["vae", "vae-gan", "gan", "diffusion", "latent-diffusion"]  # nothing half-made stays
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and "'no_such_module'" in lines[0] and "'half_made'" in lines[1], done.stderr
    assert all("going on without it" in line and "Traceback" not in line for line in lines)


def test_every_shared_setting_is_a_flag_no_family_may_take():
    from models.family import RESERVED_DESTS
    assert {s.dest for s in SETTINGS} <= RESERVED_DESTS


@pytest.mark.parametrize("change, words", [
    ({"name": "Toy"}, "its name should be lower-case letters and digits"),
    ({"name": "vae"}, "already registered"),
    ({"encoding": "telepathy"}, "its encoding should be one of"),
    ({"directions": "encoder", "encoding": "search"}, "its encoding should be 'encoder'"),
    ({"options": (Option("seed", "Seed", "a seed of its own"),)}, "no_such"),
    ({"options": (Option("hidden", "Hidden", "width", flag="--seed"),)}, "--seed is a flag every family shares"),
    ({"options": (Option("hidden", "Hidden", "width", flag="--beta"),)}, "means something else for a VAE"),
])
def test_a_family_that_would_break_the_others_is_refused_in_a_sentence(change, words):
    family = dataclasses.replace(toy_family.FAMILY, **change)
    if words == "no_such":  # an option that is not a field of its config
        words = "its option 'seed' should have a whole-number, number, choice or switch range in RANGES"
    with pytest.raises(ValueError, match="cannot be added") as refused:
        register_family(family)
    assert words in str(refused.value)
    assert family_names() == ("vae", "vae-gan", "gan", "diffusion", "latent-diffusion")


def test_a_switch_must_start_off():
    @dataclasses.dataclass
    class Config(toy_family.ToyConfig):
        wide: bool = True
        RANGES: ClassVar[dict] = {**toy_family.ToyConfig.RANGES, "wide": Flag()}

    family = dataclasses.replace(toy_family.FAMILY, config_class=Config, options=(Option("wide", "Wide", "wider"),))
    with pytest.raises(ValueError, match="--wide should be off unless given"):
        register_family(family)


def test_the_toy_family_is_known_only_while_registered():
    assert "toy" not in family_names()
    toy_family.register()
    try:
        assert get_family("toy").title == "Toy"
    finally:
        toy_family.unregister()
