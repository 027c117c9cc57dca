"""Errors a user can act on.

Every failure caused by the input (a missing file, a broken archive, an unreachable engine) is an
``InspectorError``: the CLI prints its message on one line and exits with its ``exit_code``, never
with a traceback. Anything else escaping is a bug in inspect-image.
"""

from __future__ import annotations


class InspectorError(Exception):
    """A problem with the input or the environment, reported to the user as one line."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ImageFormatError(InspectorError):
    """The bytes are not a readable image: wrong layout, bad JSON, a missing or corrupt blob."""


class BadReferenceError(InspectorError):
    """The image reference cannot be resolved to one image (no such path, ambiguous tag...)."""


class EngineError(InspectorError):
    """The Docker engine could not be reached or refused what we asked."""


class VerificationError(InspectorError):
    """Content does not match its digest; audit scripts tell this apart by exit code 3."""

    exit_code = 3
