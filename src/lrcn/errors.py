"""The one exception a user can cause. The CLI prints its message as a single line and exits 1."""


class LrcnError(Exception):
    """A problem with the user's input (a file, a flag, a data set), with a message meant for them.

    The message names the input and the problem, e.g. ``"clip.avi: not a video (no decodable frame)"``.
    """


class WriteError(LrcnError):
    """A file could not be written: the disk is full, the place read-only, or not ours to write
    (``lrcn.files.write_failure`` names the file and what was short). It stops the whole command: unlike a bad
    input, skipping to the next file would fail the same way."""


def a(noun: str) -> str:
    """``noun`` with its indefinite article, for messages: "an activity run", "a caption run"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"
