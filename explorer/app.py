"""Start the desktop app; `--screenshot` renders the window offscreen once its first images are drawn."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SCREENSHOT_TIMEOUT_MS = 300_000
# `python main.py bench` sets this: the app prints "first-image" when Explore's first face is on screen, and quits.
STARTUP_PROBE = "LATENT_EXPLORER_STARTUP_PROBE"


def run_app(screenshot: str | None = None, tab: str | None = None, device: str = "auto",
            files: list[str] | None = None) -> int:
    if screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.main_window import MainWindow

    QCoreApplication.setOrganizationName("LatentExplorer")
    QCoreApplication.setApplicationName("Latent Explorer")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(device)
    if tab:
        window.select_tab(tab)
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


def _open(window, files: list[str] | None) -> None:
    window.load_startup_models()
    for path in files or []:
        window.open_path(str(Path(path).resolve()))


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
