"""User-facing errors: one line that names the problem and the fix; the CLI prints it and exits 2.
Also the one record of a Ctrl-C: a library that swallows the KeyboardInterrupt (a bare ``except:``
around an import) must not make the run carry on as if nothing was pressed."""

import os

_interrupted = False
_said = False


class NeuroscapeError(Exception):
    """One-line, user-facing error: names the problem and the fix."""


def note_interrupt(*_args) -> None:
    """SIGINT handler of the command line: remember it, then interrupt as Python would; a second one
    quits at once (no "Exception ignored" traces from a teardown interrupted again)."""
    global _interrupted
    if _interrupted:
        say_interrupted()
        os._exit(130)
    _interrupted = True
    raise KeyboardInterrupt


def was_interrupted() -> bool:
    return _interrupted


def say_interrupted(detail: str = "") -> None:
    """The one "interrupted" line on stderr (once, however many Ctrl-Cs)."""
    global _said
    if not _said:
        _said = True
        os.write(2, f"neuroscape: interrupted{detail}\n".encode())
