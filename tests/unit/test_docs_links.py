"""The README and the documentation pages link only to things that exist, and every page is in the site's nav.

Pure file checks, no mkdocs build (``make docs`` builds the site with ``--strict``, which checks the same and
more). Every link of README.md is an http(s) URL or a file or folder of the checkout; every relative link and
image of a page in ``docs/`` resolves to a file, and an anchor to a heading of the page it names; every page of
``docs/`` is in ``mkdocs.yml``'s nav and every nav entry is a page.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_LINES = 200

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
_HTML = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=\"([^\"]+)\"", re.I)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets and parentheses are code."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Targets of the Markdown links and images, reference definitions and HTML ``href``/``src`` of ``text``."""
    prose = _prose(text)
    return [m.group(1) for pattern in (_INLINE, _REFERENCE, _HTML) for m in pattern.finditer(prose)]


def _mkdocs_slug(heading: str) -> str:
    """Python-Markdown's toc slug (what mkdocs gives a heading)."""
    value = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def _github_slug(heading: str) -> str:
    """GitHub's heading anchor (what a link works with when the page is read on GitHub)."""
    value = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return value.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Both slugs of every heading of a Markdown file (code spans and links reduced to their text)."""
    found = set()
    for match in _HEADING.finditer(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(2)).replace("`", "")
        found |= {_mkdocs_slug(title), _github_slug(title)}
    return found


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://", "mailto:"))


def broken_links(page: Path, *, base: Path, allow_folders: bool) -> list[str]:
    """Each link of ``page`` that is neither a URL nor a file (or folder) under ``base``, with why."""
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if _is_url(target):
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("/"):
            problems.append(f"{target}: not a relative path or an http(s) URL")
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page.resolve()
        if not resolved.is_relative_to(base.resolve()):
            problems.append(f"{target}: outside {base.relative_to(ROOT.parent)}")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif resolved.is_dir() and not allow_folders:
            problems.append(f"{target}: a folder, not a page or a file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading with the anchor #{anchor} in {resolved.relative_to(ROOT)}")
    return problems


class _IgnoreTags(yaml.SafeLoader):
    """mkdocs.yml may hold mkdocs' own tags (``!ENV``, ``!!python/name:``); the nav does not need them."""


_IgnoreTags.add_multi_constructor("", lambda loader, suffix, node: None)
_IgnoreTags.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def nav_pages(nav) -> list[str]:
    """Every page of a mkdocs nav (strings, ``{title: page}`` and ``{title: [...]}`` nested)."""
    if isinstance(nav, str):
        return [] if _is_url(nav) else [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    return []


def doc_pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if not any(part.startswith((".", "_")) for part in p.relative_to(DOCS).parts))


def test_every_readme_link_is_a_url_or_a_file_of_the_checkout():
    assert broken_links(README, base=ROOT, allow_folders=True) == []


def test_the_readme_links_into_the_docs_and_shows_the_report():
    targets = links(README.read_text(encoding="utf-8"))
    assert any(t.startswith("docs/") and t.endswith(".md") for t in targets)
    assert "docs/images/report.png" in targets


def test_the_readme_fits_on_a_screen_or_so():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move reference text into docs/"


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_relative_link_of_a_docs_page_resolves(page):
    assert broken_links(page, base=DOCS, allow_folders=False) == []


def test_every_docs_page_is_in_the_nav_and_every_nav_entry_is_a_page():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_IgnoreTags)
    in_nav = nav_pages(config["nav"])
    pages = [str(p.relative_to(DOCS)) for p in doc_pages()]
    assert sorted(set(pages) - set(in_nav)) == [], "add these pages to mkdocs.yml's nav"
    assert sorted(set(in_nav) - set(pages)) == [], "these nav entries are not pages of docs/"
    assert len(in_nav) == len(set(in_nav)), "a page is in the nav twice"


def test_the_link_finder_sees_links_and_images_but_not_code():
    text = "[a](x.md) ![b](images/y.png) `[c](z.md)`\n```\n[d](w.md)\n```\n[e]: ref.md\n<img src=\"i.png\">\n"
    assert sorted(links(text)) == ["i.png", "images/y.png", "ref.md", "x.md"]
