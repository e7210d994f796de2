"""A griffe extension for the API reference: benchlib's docstrings cross-reference with Sphinx roles.

``:mod:`~benchlib.config.sections``` would print as typed; this turns every ``:role:`target``` into a code span
(`` `sections` `` for a ``~`` target, the target as written otherwise) before mkdocstrings renders the docstring.
Loaded by mkdocs.yml (``extensions``); not a page of the site (``exclude_docs``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:mod|class|func|meth|attr|data|exc|obj|const):`(~?)([^`]+)`")


def _code_span(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx cross-reference roles in every docstring as Markdown code spans."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of each object griffe loads."""
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_code_span, obj.docstring.value)
