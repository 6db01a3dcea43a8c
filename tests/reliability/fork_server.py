"""Runs `python main.py ARGS` commands as forks of one interpreter that has already imported torch and the app.

A fresh `python main.py train` spends about three seconds importing torch on a busy two-core machine before it
trains for a moment; killing ten of them would take most of a minute. A fork runs the very same `main()` in a
process of its own, which a test can SIGKILL like any other, and starts in milliseconds.

Protocol: one JSON line [args, log path] on standard input starts a command with its standard output and error
going to the log file; the fork's process id comes back as one line. End of input ends the server.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from explorer.cli import main as cli  # imported before forking, which is the point
from explorer.cli import train as cli_train  # noqa: F401
from models import train  # noqa: F401


def serve() -> None:
    import torch
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the first optimizer imports torch._dynamo: 2 s
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the forks: a killed one vanishes at once
    for line in sys.stdin:
        args, log = json.loads(line)
        sys.stdout.flush()  # nothing buffered may be written twice, by the fork as well
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            sys.stdin = open(os.devnull)  # noqa: SIM115 - the fork's whole life
            code = 1
            try:
                code = cli.main(args)
            finally:
                sys.stdout.flush()
                os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    serve()
