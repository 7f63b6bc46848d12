"""The one exception a user can cause. The CLI prints its message as a single line and exits 1."""


class LrcnError(Exception):
    """A problem with the user's input (a file, a flag, a data set), with a message meant for them.

    The message names the input and the problem, e.g. ``"clip.avi: not a video (no decodable frame)"``.
    """
