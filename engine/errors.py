"""User-facing errors: one line that names the problem and the fix; the CLI prints it and exits 2."""


class NeuroscapeError(Exception):
    """One-line, user-facing error: names the problem and the fix."""
