"""The base of every section of a sweep's configuration."""

from __future__ import annotations

from benchlib.validation import ValidatedModel

__all__ = ["Section"]


class Section(ValidatedModel):
    """A section: frozen, unknown names refused, values kept as given."""
