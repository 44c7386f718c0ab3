"""Exceptions that stages turn into a one-line message and a non-zero exit."""


class RagcunError(Exception):
    """An error caused by the user's input (params, data, checkpoints), not by a bug."""

    exit_code = 1


class ConfigError(RagcunError):
    """params.yaml is invalid: unknown key, wrong type or value out of range."""

    exit_code = 2


class DataError(RagcunError):
    """An input file is missing, empty or malformed."""

    exit_code = 1


class DownloadError(RagcunError):
    """A download failed, was corrupt or did not match its checksum."""

    exit_code = 1


class CheckpointError(RagcunError):
    """A checkpoint is missing or does not fit the configured model."""

    exit_code = 1


class TrainingDivergedError(RagcunError):
    """The loss became NaN or infinite."""

    exit_code = 1
