"""Without a display, or without the system libraries Qt's xcb plugin needs, `python main.py` says in one line
what is missing and how to get it, and exits 1 (Qt alone prints a page about plugins and aborts: exit 134)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer import display_check
from explorer.cli import main as cli
from explorer.display_check import display_problem

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the check is for X11 on Linux")


def _main_py(tmp_path, **env_changes) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_changes)
    return subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@linux_only
def test_without_a_display_main_py_says_how_to_get_one_and_exits_1(tmp_path):
    result = _main_py(tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: There is no display")
    assert "--screenshot" in result.stderr and "QT_QPA_PLATFORM=offscreen" in result.stderr


@linux_only
def test_with_a_display_that_nobody_answers_main_py_exits_1_in_one_line(tmp_path):
    result = _main_py(tmp_path, DISPLAY=":4719")  # no X server there (on a machine without libxcb-cursor0, the
    assert result.returncode == 1                 # line names the packages instead: either is what is missing)
    assert result.stderr.count("\n") == 1
    assert "No X server answers at DISPLAY=:4719" in result.stderr or "sudo apt-get install" in result.stderr


@linux_only
def test_a_missing_xcb_library_is_named_with_its_package(monkeypatch, capsys):
    monkeypatch.setattr(display_check, "can_load", lambda name: name != "libxcb-cursor.so.0")
    monkeypatch.setattr(display_check, "x_server_answers", lambda display: True)
    for name in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert err == ("error: Qt cannot open a window: the system library libxcb-cursor.so.0 is missing; on Debian or "
                   "Ubuntu install it with: sudo apt-get install libxcb-cursor0\n")


def test_several_missing_libraries_name_each_package_once(monkeypatch):
    monkeypatch.setattr(display_check, "can_load", lambda name: "xkbcommon" not in name and "glib" not in name)
    problem = display_problem({"DISPLAY": ":0"}, platform="linux")
    assert problem.endswith("sudo apt-get install libxkbcommon0 libxkbcommon-x11-0 libglib2.0-0")


def test_no_check_where_qt_is_told_what_to_use_or_is_not_on_x11(monkeypatch):
    monkeypatch.setattr(display_check, "can_load", lambda name: False)
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, platform="linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, platform="linux") is None
    assert display_problem({}, platform="darwin") is None and display_problem({}, platform="win32") is None
    assert display_problem({}, platform="linux").startswith("There is no display")


@linux_only
def test_the_list_matches_what_qts_xcb_plugin_links_against():
    """If a new Qt needs another system library, the list (and the README's apt-get line) must learn it."""
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists():
        pytest.skip("this PySide6 has no xcb plugin")
    bundled = {p.name for p in (qt / "lib").iterdir()}
    needed = set()
    for binary in (plugin, qt / "lib" / "libQt6XcbQpa.so.6", qt / "lib" / "libQt6Gui.so.6"):
        needed |= _needed(binary)
    system = {n for n in needed - bundled if n.startswith(("libxcb", "libxkb", "libX", "libGL", "libEGL", "libfont",
                                                          "libdbus", "libglib"))}
    assert system <= set(display_check.XCB_LIBRARIES), system - set(display_check.XCB_LIBRARIES)
    readme = (ROOT / "README.md").read_text()
    assert [package for package in display_check.XCB_LIBRARIES.values() if package not in readme] == []


def _needed(binary: Path) -> set[str]:
    """The sonames an ELF file names as NEEDED (readelf comes with binutils; skipped where it is missing)."""
    try:
        out = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("readelf is not installed")
    return {line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line}
