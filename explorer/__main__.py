"""`python -m explorer [COMMAND ...]`: the same as `python main.py`, in every install mode (a wheel has no main.py).

The Train tab runs this file by its path as its child process (explorer.panels.train.training_process.app_command).
"""

import sys
from pathlib import Path

if not __package__:  # run by its path: import the app this file belongs to, not what the working folder holds
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from explorer.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
