"""models/ is pure PyTorch and NumPy: it never imports Qt or the app (napari's rule)."""

import ast
import subprocess
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"
FORBIDDEN = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "explorer")


def test_no_module_in_models_imports_qt_or_the_app():
    offenders = []
    for path in MODELS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_every_model_module_loads_no_qt():
    modules = sorted(p.stem for p in MODELS.glob("*.py") if p.stem != "__init__")
    code = ("import sys; " + "; ".join(f"import models.{m}" for m in modules) +
            f"; bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]; print(bad); assert not bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=MODELS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
