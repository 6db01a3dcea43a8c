"""Waiting for the app without sleeping: until the worker has nothing to do and what it sent has arrived."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication


def delivered() -> None:
    """Deliver every event already posted to the GUI thread (the worker's queued results among them) and what
    handling them posts in turn: layouts, repaints, the requests a result leads a panel to make."""
    QCoreApplication.sendPostedEvents()
    QCoreApplication.processEvents()


def settle(qtbot, app, timeout: int = 60_000) -> None:
    """Until the worker is idle and every result it emitted has reached the panels. `app` is the window, an
    AppContext (both have .worker) or the InferenceWorker itself.

    The worker emits a result before it counts itself idle, so once it is idle the result is posted; delivering it
    may make a panel ask for more (an analysis leads to a render), which makes the worker busy again. Quiet means
    idle after a delivery, twice in a row."""
    worker = getattr(app, "worker", app)

    def quiet() -> bool:
        delivered()
        return worker.is_idle()

    qtbot.waitUntil(lambda: quiet() and quiet(), timeout=timeout)
