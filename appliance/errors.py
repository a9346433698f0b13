"""Errors that reach the operator as one line: what is wrong and how to fix it."""


class ApplianceError(Exception):
    """A problem the operator can fix; its message is printed as is, without a traceback."""

    exit_code = 1


class ConfigError(ApplianceError):
    """The configuration file or environment holds a wrong value."""

    exit_code = 2


class ModelError(ApplianceError):
    """A model is missing, unreadable or of the wrong format."""

    exit_code = 3


class AudioInputError(ApplianceError):
    """An audio file given on the command line cannot be used."""

    exit_code = 4
