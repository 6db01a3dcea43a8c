"""`main.py train` runs forked from fork_server.py (torch already imported: they start in milliseconds), for the
tests that kill runs or run two at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    """Read when a child starts, not at import: by then the tests' private cache folder is set."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def start_fork_server() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.fork_server"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=child_env())


def stop_fork_server(server: subprocess.Popen) -> None:
    server.stdin.close()
    server.wait(timeout=30)


class ForkedRun:
    """A `main.py train` fork whose JSON events are read from its log file."""

    def __init__(self, server: subprocess.Popen, args: list[str], log: Path):
        self.log = log
        server.stdin.write(json.dumps([args, str(log)]) + "\n")
        server.stdin.flush()
        self.pid = int(server.stdout.readline())
        self.seen: list[dict] = []
        self._read = 0

    def until(self, kind: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text() if self.log.exists() else ""
            complete = text[:text.rfind("\n") + 1].splitlines()  # a line still being written waits
            for line in complete[self._read:]:
                self._read += 1
                if line.startswith("{"):
                    self.seen.append(json.loads(line))
                    if self.seen[-1]["event"] == kind:
                        return self.seen[-1]
            assert self.alive() or self._read < len(complete), f"the run ended: {self.log.read_text()}"
            time.sleep(0.01)
        raise TimeoutError(f"no {kind} event in {timeout} s: {self.log.read_text()}")

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
            return True
        except ProcessLookupError:
            return False

    def kill(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not self.alive()
