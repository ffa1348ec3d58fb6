"""The one exception type the CLI turns into a clean message (no traceback) for bad input."""


class TrainingInputError(ValueError):
    """Input the user can fix: a missing file, a malformed export, an unusable configuration."""
