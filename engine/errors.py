"""User-facing errors: one line that names the problem and the fix; the CLI prints it and exits 2.
Also the one record of a Ctrl-C: a library that swallows the KeyboardInterrupt (a bare ``except:``
around an import) must not make the run carry on as if nothing was pressed."""

_interrupted = False


class NeuroscapeError(Exception):
    """One-line, user-facing error: names the problem and the fix."""


def note_interrupt(*_args) -> None:
    """SIGINT handler of the command line: remember it, then interrupt as Python would."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def was_interrupted() -> bool:
    return _interrupted
