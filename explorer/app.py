"""Start the desktop app; `--screenshot` renders the window offscreen once its first images are drawn."""

from __future__ import annotations

import json
import os
import sys
import tempfile

SCREENSHOT_TIMEOUT_MS = 300_000
# `python main.py bench` sets this: the app prints "first-image" when Explore's first face is on screen, and quits.
STARTUP_PROBE = "LATENT_EXPLORER_STARTUP_PROBE"


def run_app(screenshot: str | None = None, tab: str | None = None, device: str = "auto",
            files: list[str] | None = None, size: tuple[int, int] | None = None, presenter: bool = False) -> int:
    screen_config = None
    if screenshot and os.environ.get("QT_QPA_PLATFORM", "offscreen").startswith("offscreen"):
        os.environ["QT_QPA_PLATFORM"], screen_config = offscreen_platform(size)
    from explorer.display_check import display_problem

    problem = display_problem()
    if problem:  # Qt would print a page about platform plugins and abort
        print(f"error: {problem}", file=sys.stderr)
        return 1
    from PySide6.QtCore import QCoreApplication, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.error_log import install_excepthook
    from explorer.layout_check import layout_problems
    from explorer.main_window import MainWindow

    QCoreApplication.setOrganizationName("LatentExplorer")
    QCoreApplication.setApplicationName("Latent Explorer")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if screen_config:
        os.unlink(screen_config)
    # From here an error nobody caught (at start-up too) goes to the log and is told in a dialog or one line.
    install_excepthook(None if screenshot or os.environ.get(STARTUP_PROBE) else QApplication.activeWindow)
    # A screenshot starts as a new user would, and leaves the person's own settings (size, tab, presenter) alone.
    scratch = tempfile.TemporaryDirectory(prefix="latent-explorer-screenshot-") if screenshot else None
    settings = QSettings(os.path.join(scratch.name, "settings.ini"), QSettings.Format.IniFormat) if scratch else None
    window = MainWindow(device, settings=settings)
    if tab:
        window.select_tab(tab)
    if presenter or screenshot:  # a screenshot shows the mode asked for, not the one remembered from last time
        window.set_presenter_mode(presenter)
    if size and not window.isFullScreen():
        window.resize(*size)
    window.show()
    if os.environ.get(STARTUP_PROBE):
        def probe() -> None:
            window.explore.first_image.disconnect(probe)
            print("first-image", flush=True)
            window.close()
        window.explore.first_image.connect(probe)
    if not screenshot:
        _open(window, files)
        return app.exec()

    outcome = {"code": 1}

    def save() -> None:
        if outcome.get("saved"):
            return
        outcome["saved"] = True
        QApplication.processEvents()
        ok = window.grab().save(screenshot, "PNG")
        outcome["code"] = 0 if ok else 1
        for problem in layout_problems(window):  # what a person would see cut off, for whoever checks layouts
            print(f"layout: {problem}", file=sys.stderr)
        if not ok:
            print(f"error: could not write the screenshot to {screenshot}", file=sys.stderr)
        window.close()

    def timed_out() -> None:
        if not outcome.get("saved"):
            print("error: the window did not finish drawing within 5 minutes", file=sys.stderr)
            outcome["saved"] = True
            window.close()

    wait_until_drawn(window, lambda: QTimer.singleShot(300, save))
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, timed_out)
    _open(window, files)
    app.exec()
    return outcome["code"]


def offscreen_platform(size: tuple[int, int] | None) -> tuple[str, str | None]:
    """Qt's offscreen platform with a virtual screen of `size` (its default is 800x800), and the file that
    describes the screen (to delete once Qt has read it)."""
    if size is None:
        return "offscreen", None
    config = {"screens": [{"name": "screenshot", "x": 0, "y": 0, "width": size[0], "height": size[1],
                           "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}
    handle, path = tempfile.mkstemp(prefix="latent-explorer-screen-", suffix=".json")
    with os.fdopen(handle, "w") as file:
        json.dump(config, file)
    return f"offscreen:configfile={path}", path


def _open(window, files: list[str] | None) -> None:
    window.load_startup_models()
    from models.safetensors_file import resolved_path
    for path in files or []:
        window.open_path(str(resolved_path(path)))  # a link loop is opened as given, and refused in words


def wait_until_drawn(window, then) -> None:
    """Call `then` once start-up has finished and the current tab has drawn its first images."""
    panel = window.tabs.currentWidget()
    state = {"startup": False, "drawn": not hasattr(panel, "first_image"), "called": False}

    def check(*_) -> None:
        if state["called"] or not state["startup"]:
            return
        if not window.context.models:
            state["called"] = True  # nothing to draw: the "no model yet" state is the picture
            then()
            return
        analysed = panel is not window.explore or window.context.current in window.context.analyses
        if state["drawn"] and analysed:
            state["called"] = True
            then()

    def drawn() -> None:
        state["drawn"] = True
        check()

    def started() -> None:
        state["startup"] = True
        check()

    if hasattr(panel, "first_image"):
        panel.first_image.connect(drawn)
    window.context.analysis_ready.connect(check)
    window.startup_done.connect(started)
