"""A built wheel holds the whole app and every shipped file, and an installed copy finds them from anywhere.

`pip install .` and `pipx install .` install this same wheel; the source tree is not there to fall back on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", "build", "dist", "*.egg-info", "runs",
                                    "tmp", ".pytest_cache")


def _shipped_files() -> list[str]:
    return sorted(f"resources/{p.name}" for p in (ROOT / "resources").iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix not in (".py", ".pyc"))


def _modules() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for package in ("explorer", "models", "resources")
                  for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from a copy of this tree (setuptools writes build/ and *.egg-info where it builds)."""
    pytest.importorskip("setuptools", reason="the test extra installs setuptools, which builds the wheel")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                             "--no-index", "-q", "-w", str(work / "dist")],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    (built,) = (work / "dist").glob("latent_explorer-*.whl")
    return built


def test_the_wheel_holds_every_module_and_every_shipped_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = _shipped_files()
    assert {"resources/vae.safetensors", "resources/feature_net.safetensors", "resources/README.md"} <= set(shipped)
    assert [f for f in shipped if f not in names] == []
    assert [m for m in _modules() if m not in names] == []
    assert not any(n.startswith("tests/") for n in names)


def test_an_installed_copy_finds_the_shipped_models_and_can_train(wheel, tmp_path):
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "models").mkdir()  # a folder of the user's that `python -m` would put first on the path
    (elsewhere / "models" / "__init__.py").write_text("raise ImportError('the models package of the working folder')")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                             str(target), str(wheel)], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    # Only the installed copy is importable: the working folder is elsewhere and the target comes first.
    code = (f"import sys; sys.path.insert(0, {str(target)!r}); import json, explorer\n"
            "from explorer.worker.model_catalog import startup_checkpoints\n"
            "from explorer.panels.train.training_process import app_command\n"
            "from models.feature_net import DEFAULT_FEATURE_NET, load_feature_net\n"
            "load_feature_net(DEFAULT_FEATURE_NET)\n"
            "print(json.dumps({'package': explorer.__file__, 'models': [str(p) for p in startup_checkpoints()],\n"
            "                  'feature_net': str(DEFAULT_FEATURE_NET), 'train': app_command('train', '--help')}))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATENT_EXPLORER_MODELS") and k != "PYTHONPATH"}
    env["HOME"] = str(elsewhere)  # no runs of the user's to fall back on
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["package"].startswith(str(target))
    models = {p.name for p in (ROOT / "resources").glob("*.safetensors")
              if not p.name.endswith(".analysis.safetensors") and p.name != "feature_net.safetensors"}
    assert len(models) >= 3 and {Path(p).name for p in found["models"]} == models
    assert all(p.startswith(str(target / "resources")) for p in found["models"])
    assert found["feature_net"] == str(target / "resources" / "feature_net.safetensors")
    # The Train tab's child is the installed package's own file, with no main.py beside it.
    assert found["train"][1].startswith(str(target))
    train = subprocess.run(found["train"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120,
                           check=False)
    assert train.returncode == 0, train.stderr[-2000:]
    assert "--model" in train.stdout
