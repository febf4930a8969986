"""A Ctrl-C while the `minimobilebert` command is still importing (NumPy, the package: ~0.15 s) gets the
same one line and exit code 130 as during the rest of the command (cli.main), not Python's traceback.

Only in the command's own process (`minimobilebert ...` or `python -m minimobilebert ...`), and only if
Ctrl-C would interrupt at all (not when the parent started the process with SIGINT ignored). A program
that imports the package gets Python's behaviour untouched. Importing this module (the first thing
`minimobilebert/__init__.py` does) installs the handler; `cli.main` puts Python's back as it starts,
and from there catches KeyboardInterrupt itself."""

from __future__ import annotations

import os
import signal
import sys


def is_the_command() -> bool:
    argv = getattr(sys, "orig_argv", sys.argv)  # the interpreter's own arguments (3.10+)
    if "-m" in argv:
        i = argv.index("-m")
        return i + 1 < len(argv) and argv[i + 1] == "minimobilebert"
    return os.path.basename(sys.argv[0]) in ("minimobilebert", "minimobilebert.exe")


def _interrupted(signum, frame) -> None:
    sys.stderr.write("minimobilebert: interrupted\n")
    sys.stderr.flush()
    os._exit(130)  # nothing to clean up yet: the command has not started


def quiet_interrupts():
    """Install the one-line handler if this process is the command; returns what to restore (or None)."""
    try:
        if not is_the_command() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return None
        return signal.signal(signal.SIGINT, _interrupted)
    except ValueError:  # not the main thread: leave signals alone
        return None


PREVIOUS = quiet_interrupts()


def restore() -> None:
    """Python's own SIGINT handler back (once; the command calls this as it starts)."""
    global PREVIOUS
    if PREVIOUS is not None and signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, PREVIOUS)
    PREVIOUS = None
