"""Collect what ``benchlib report`` wrote into ``figures/`` and render it as one self-contained ``report.html``.

The page needs no network: every PNG is embedded as a ``data:`` URL, CSS and the table-sorting script are
inline, no web font is used. A file the report notebooks did not write makes its section say so instead of
failing. The template is ``templates/report.html.j2`` (Jinja2, autoescaped).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import math
import numbers
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from markupsafe import Markup, escape

from benchlib.paths import reference_dir as default_reference_dir
from benchlib.paths import repo_root
from benchlib.records import atomic_write_bytes
from benchlib.report_html.sections import (
    FIGURE_CAPTIONS,
    FIGURE_SECTION,
    REPORT_SECTIONS,
    WRITTEN_BY,
    TableSpec,
)

__all__ = ["REPORT_NAME", "build_report", "git_commit", "report_context"]

REPORT_NAME = "report.html"
"""The report's file name in the figures folder."""

_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
_PATH_LIKE = re.compile(r"[\w./~-]+\.ya?ml")
_CANDIDATE_HEADINGS = ("Why each other candidate loses", "Where each candidate's numbers come from",
                       "Not comparable (another model)", "Left out")
"""The bullet lists of decision.md the candidates section shows."""
_URL = re.compile(r"https?://[^\s<>\"')\]]+")


def not_produced(figures_dir: Path, name: str) -> str:
    """The message of a section or table whose file the report notebooks did not write."""
    stem = name.rsplit(".", 1)[0]
    writer = next((w for prefix, w in WRITTEN_BY.items() if stem.startswith(prefix)), "notebooks/analysis.ipynb")
    return f"not produced by this report run: {name} is not in {figures_dir} (written by {writer})"


def _emphasis(text: str) -> str:
    html = str(escape(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"(?<![*\w])\*([^*\s][^*]*?)\*(?![*\w])", r"<em>\1</em>", html)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html)


def inline_markdown(text: str) -> Markup:
    """Escape ``text``, render Markdown's ``**bold**``, ``*italic*`` and ``code``, and link bare URLs (plain ``<a>``)."""
    html, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:")
        html += [_emphasis(text[last : match.start()]), f'<a href="{escape(url)}">{escape(url)}</a>']
        last = match.start() + len(url)
    return Markup("".join(html) + _emphasis(text[last:]))


def _markdown_blocks(path: Path) -> dict[str, list[str]]:
    """The paragraphs and bullets of a Markdown file under each heading (``""``: before the first ``##``)."""
    blocks: dict[str, list[str]] = {"": []}
    heading, paragraph = "", []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "- ", "|")):
            if paragraph:
                blocks[heading].append(" ".join(paragraph))
                paragraph = []
            if stripped.startswith("## "):
                heading = stripped[3:].strip()
                blocks.setdefault(heading, [])
            elif stripped.startswith("- "):
                blocks[heading].append(stripped)
        else:
            paragraph.append(stripped)
    return blocks


def _intro(figures_dir: Path, name: str) -> list[Markup]:
    """The prose that opens a Markdown table file: the paragraphs and bullets of its first block that has any."""
    path = figures_dir / name
    if not name or not path.is_file():
        return []
    first = next((block for block in _markdown_blocks(path).values() if block), [])
    return [inline_markdown(p.removeprefix("- ")) for p in first]


def format_value(value: Any) -> tuple[str, str | None]:
    """A cell's text and, for a number, the value the table sorts it by (as JavaScript's ``parseFloat`` reads it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value), None
    number = float(value)
    if math.isinf(number):
        return str(value), "Infinity" if number > 0 else "-Infinity"
    if abs(number) >= 1e4 and abs(number) < 1e15:
        return f"{number:,.0f}", repr(number)
    return (str(int(number)) if number.is_integer() else f"{number:.4g}"), repr(number)


def _table(figures_dir: Path, spec: TableSpec) -> dict[str, Any]:
    """One CSV as the template's table: its columns, formatted rows, or the message saying why there is none."""
    path = figures_dir / spec.file
    table: dict[str, Any] = {"file": spec.file, "title": spec.title, "columns": [], "rows": [], "message": "",
                             "hidden_columns": [], "total_rows": 0}  # fmt: skip
    if not path.is_file():
        table["message"] = not_produced(figures_dir, spec.file)
        return table
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        table["message"] = f"{spec.file} could not be read: {exc}"
        return table
    kept = [c for c in spec.columns if c in frame.columns] or list(frame.columns)
    table["hidden_columns"] = [c for c in frame.columns if c not in kept]
    table["columns"] = kept
    table["total_rows"] = len(frame)
    if frame.empty:
        table["message"] = f"no rows: {spec.file} has only its header (nothing of this kind in this report run)"
    rows = frame[kept].head(spec.max_rows).astype(object).where(frame[kept].notna(), None)
    table["rows"] = [[format_value(v) for v in row] for row in rows.itertuples(index=False, name=None)]
    return table


def _figures(figures_dir: Path) -> dict[str, list[dict[str, str]]]:
    """Every PNG of the figures folder as a ``data:`` URL with its caption, by the section it belongs to."""
    by_section: dict[str, list[dict[str, str]]] = {}
    for path in sorted(figures_dir.glob("*.png")):
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        what = FIGURE_CAPTIONS.get(path.name, "")
        by_section.setdefault(FIGURE_SECTION.get(path.name, "runs"), []).append({
            "name": path.name, "caption": f"{path.name}: {what}" if what else path.name,
            "alt": what or path.stem.replace("_", " "), "src": f"data:image/png;base64,{data}"})  # fmt: skip
    return by_section


def _decision(figures_dir: Path) -> dict[str, Any]:
    """The headline: the recommendation paragraph of decision.md, its inputs, runners-up, and the basis in decision.csv."""
    decision: dict[str, Any] = {"headline": [], "inputs": [], "runners_up": [], "basis": [], "message": "",
                                "candidate_lists": [], "answer_shift": []}  # fmt: skip
    md, csv = figures_dir / "decision.md", figures_dir / "decision.csv"
    if md.is_file():
        blocks = _markdown_blocks(md)
        decision["headline"] = [inline_markdown(p) for p in blocks.get("Recommendation", [])]
        for key, heading in (("inputs", "Inputs"), ("runners_up", "Runners-up")):
            decision[key] = [inline_markdown(p.removeprefix("- ")) for p in blocks.get(heading, [])]
        decision["candidate_lists"] = [(heading, [inline_markdown(p.removeprefix("- ")) for p in blocks[heading]])
                                       for heading in _CANDIDATE_HEADINGS if blocks.get(heading)]  # fmt: skip
    shift = figures_dir / "decision_answer_shift.md"
    if shift.is_file():
        blocks = _markdown_blocks(shift)
        decision["answer_shift"] = [inline_markdown(p) for p in blocks[""] if not p.startswith("- ")]
    missing = [name for name, path in (("decision.md", md), ("decision.csv", csv)) if not path.is_file()]
    if missing:
        decision["message"] = "; ".join(not_produced(figures_dir, name) for name in missing)
    if csv.is_file():
        try:
            frame = pd.read_csv(csv)
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            decision["message"] = f"decision.csv could not be read: {exc}"
            return decision
        chosen = frame[frame["recommended"].astype(str) == "True"] if "recommended" in frame else frame.head(0)
        fields = ("candidate", "class", "source", "model", "variant", "capacity_basis", "capacity_note",
                  "evidence_doubt", "to_narrow")  # fmt: skip
        for _, row in chosen.drop_duplicates("candidate" if "candidate" in chosen else None).iterrows():
            decision["basis"].append([(f, inline_markdown(str(row[f]))) for f in fields if f in row and pd.notna(row[f])])
        if not decision["headline"] and not chosen.empty:
            decision["headline"] = [inline_markdown(f"Recommended: {chosen.iloc[0].get('candidate', '?')}")]
        if chosen.empty:
            decision["headline"] = decision["headline"] or [inline_markdown("No candidate is recommended.")]
    return decision


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shown_path(path: Path) -> str:
    """``path`` relative to the checkout when inside it (as the report's own files name it), else absolute."""
    try:
        return str(path.resolve().relative_to(repo_root()))
    except ValueError:
        return str(path)


def _runs(runs_dir: Path, figures_dir: Path) -> tuple[list[dict[str, str]], list[str], int]:
    """Every run directory's identity and machine fingerprint (its run.json), the price files the runs used, and
    how many run.json were found (the runs of runs.csv that have none are listed too)."""
    in_table: set[str] = set()
    runs_csv = figures_dir / "runs.csv"
    if runs_csv.is_file():
        try:
            in_table = set(pd.read_csv(runs_csv, usecols=["run_id"])["run_id"].astype(str))
        except (ValueError, pd.errors.EmptyDataError):
            in_table = set()
    rows, prices, seen = [], [], set()
    for path in sorted(runs_dir.glob("*/run.json")) if runs_dir.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            rows.append({"run_id": path.parent.name, "status": f"unreadable run.json: {exc}"})
            continue
        params, machine = record.get("parameters") or {}, record.get("machine") or {}
        model = record.get("model") or {}
        ram = machine.get("ram_bytes")
        run_id = str(record.get("run_id") or path.parent.name)
        seen.add(run_id)
        prices += [str(p) for p in params.get("price_files") or []]
        rows.append({
            "run_id": run_id, "status": str(record.get("status", "")), "kind": str(record.get("kind", "")),
            "platform": str(params.get("platform", "")), "model": str(model.get("name") or params.get("model", "")),
            "model_sha256": str(model.get("sha256") or "")[:12], "started_at": str(record.get("started_at", "")),
            "ended_at": str(record.get("ended_at") or ""), "hostname": str(machine.get("hostname", "")),
            "cpu_model": str(machine.get("cpu_model", "")), "arch": str(machine.get("machine", "")),
            "cores": str(machine.get("cpu_cores_logical", "")), "ram_gib": f"{ram / 2**30:.1f}" if ram else "",
            "os": str(machine.get("os", "")), "kernel": str(machine.get("kernel", "")),
            "python": str(machine.get("python", "")),
            "price_profile": str((record.get("price_profile") or {}).get("name", "")),
            "in_runs_csv": ("yes" if run_id in in_table else "no") if runs_csv.is_file() else "runs.csv missing",
        })  # fmt: skip
    found = len(rows)
    rows += [{"run_id": r, "status": f"in runs.csv, not in {runs_dir}"} for r in sorted(in_table - seen)]
    return rows, prices, found


def _reference_files(reference_dir: Path) -> list[dict[str, str]]:
    """The evidence, price, hardware and model files of ``data/reference`` with their sha256 and source."""
    files = []
    for path in sorted(p for p in reference_dir.rglob("*") if p.suffix in (".yaml", ".yml", ".csv") and p.is_file()):
        title = url = ""
        if path.suffix != ".csv":
            try:
                source = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("source")
            except (yaml.YAMLError, AttributeError):
                source = None
            if isinstance(source, dict):
                title, url = str(source.get("title", "")), str(source.get("url", ""))
        kind = "evidence" if "evidence" in path.relative_to(reference_dir).parts else "reference"
        kind = "prices" if path.stem.startswith("prices") else kind
        files.append({"path": _shown_path(path), "kind": kind, "sha256": _sha256(path), "title": title,
                      "url": url if url.startswith(("https://", "http://")) else ""})  # fmt: skip
    return files


def _price_files(figures_dir: Path, from_runs: list[str]) -> list[dict[str, str]]:
    """The price files the decision and the cost model name ("Price files: ..."), and the runs', with their sha256."""
    named: list[str] = []
    for md in ("decision.md", "cost_model.md"):
        path = figures_dir / md
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if "Price files:" in line:
                    named += _PATH_LIKE.findall(line.split("Price files:", 1)[1])
    rows = []
    for name in dict.fromkeys(named + from_runs):
        path = Path(name).expanduser()
        path = path if path.is_absolute() else repo_root() / path
        used_by = ", ".join(m for m, found in (("decision/cost model", name in named), ("runs", name in from_runs)) if found)
        rows.append({"path": _shown_path(path) if path.is_file() else name, "used_by": used_by,
                     "sha256": _sha256(path) if path.is_file() else "not found on this machine"})  # fmt: skip
    return rows


def git_commit() -> str:
    """``git rev-parse HEAD`` of the checkout (with ``+ uncommitted changes``), else "unknown"."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_root(),
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} + uncommitted changes" if dirty else head or "unknown"


def _version() -> str:
    try:
        return importlib.metadata.version("benchlib")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (benchlib is not installed)"


def report_context(figures_dir: str | Path, runs_dir: str | Path, reference_dir: str | Path | None = None) -> dict[str, Any]:
    """Everything the template shows, read from the figures folder, the run directories and the reference folder."""
    figures_dir, runs_dir = Path(figures_dir), Path(runs_dir)
    reference_dir = Path(reference_dir) if reference_dir is not None else default_reference_dir()
    figures = _figures(figures_dir)
    sections = []
    for spec in REPORT_SECTIONS:
        intro_missing = spec.intro_md and not (figures_dir / spec.intro_md).is_file()
        sections.append({
            "id": spec.id, "title": spec.title, "intro": _intro(figures_dir, spec.intro_md),
            "intro_message": not_produced(figures_dir, spec.intro_md) if intro_missing else "",
            "tables": [_table(figures_dir, t) for t in spec.tables], "figures": figures.get(spec.id, []),
        })  # fmt: skip
    runs, run_prices, found = _runs(runs_dir, figures_dir)
    files = sorted(p for p in figures_dir.glob("*") if p.is_file() and p.name != REPORT_NAME and p.name[0] != ".")
    provenance = {
        "runs": runs, "runs_dir": str(runs_dir),
        "runs_message": "" if found else f"no run directory with a run.json in {runs_dir}",
        "reference": _reference_files(reference_dir) if reference_dir.is_dir() else [],
        "reference_dir": str(reference_dir), "prices": _price_files(figures_dir, run_prices),
        "inputs": [{"path": p.name, "bytes": f"{p.stat().st_size:,}", "sha256": _sha256(p)} for p in files],
        "figures_dir": str(figures_dir), "version": _version(), "commit": git_commit(),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    return {"sections": sections, "decision": _decision(figures_dir), "provenance": provenance}


def build_report(figures_dir: str | Path, runs_dir: str | Path, output: str | Path | None = None,
                 *, reference_dir: str | Path | None = None) -> Path:  # fmt: skip
    """Write the self-contained HTML report of a report run and return its path.

    Args:
        figures_dir: The folder ``benchlib report`` wrote its figures and tables into.
        runs_dir: The run directories the report read (their run.json give the provenance).
        output: Where to write (default: ``figures_dir / "report.html"``).
        reference_dir: The published evidence, prices and hardware (default: ``data/reference``).

    Returns:
        The written file.
    """
    # jinja2 is only needed here: the command line starts without it
    import jinja2

    output = Path(output) if output is not None else Path(figures_dir) / REPORT_NAME
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATE_DIR), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    html = environment.get_template("report.html.j2").render(**report_context(figures_dir, runs_dir, reference_dir))
    atomic_write_bytes(output, html.encode("utf-8"), durable=False)
    output.chmod(0o644)  # a file to hand on: readable by others, like the figures beside it (mkstemp makes 0600)
    return output
