"""Errors benchlib raises on purpose: each message says what is wrong and how to fix it."""

__all__ = ["BenchlibError", "ModelError", "ParameterError", "RuntimeFailure", "SweepInterrupted"]


class BenchlibError(Exception):
    """Base class of every error benchlib raises deliberately.

    The command line prints these as one clear message instead of a traceback.
    """


class ModelError(BenchlibError):
    """A model could not be found, installed, verified or read."""


class ParameterError(BenchlibError, ValueError):
    """A sweep or report parameter is unknown or has an invalid value."""


class RuntimeFailure(BenchlibError):
    """A runtime failed to load a model or to generate."""


class SweepInterrupted(BenchlibError):
    """The user stopped a sweep (Ctrl-C); its completed requests are kept and the same command resumes it."""
