"""The error types composer raises. The CLI turns each into one line, no traceback."""


class ComposerError(Exception):
    """Base class for every error composer reports to the user."""


class MidiError(ComposerError):
    """A MIDI file that cannot be read or written; the message names the file."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class AbcError(ComposerError):
    """An ABC file, or one tune in it, that cannot be read; the message names the file and,
    for a tune, its X: number ("tunes.abc: X:12, line 40: unterminated chord [")."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DataError(ComposerError):
    """A corpus folder with nothing usable in it, or bad encoding settings."""


class CheckpointError(ComposerError):
    """A checkpoint that is missing, truncated, tampered with or not composer's."""


class MusicError(ComposerError, ValueError):
    """A metre, key, chord or progression that cannot be read ("7/0", "Q major", "H7")."""
