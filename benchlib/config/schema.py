"""JSON Schema of parameter files and of ``run.json``, for editors and other tools.

``benchlib schema --out DIR`` writes ``sweep-parameters.schema.json`` (the flat
parameters of ``params/*.yaml``; VS Code's YAML extension validates a file that
starts with ``# yaml-language-server: $schema=PATH``), ``run.schema.json`` and
``evidence.schema.json`` (the files of ``data/reference/evidence/``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchlib.config.sweep import SECTIONS
from benchlib.predict.evidence import EvidenceFile
from benchlib.records import RunRecord
from benchlib.runtimes.registry import RUNTIMES

__all__ = ["attribute_docs", "evidence_schema", "parameters_schema", "run_record_schema", "write_schemas"]

PARAMETERS_FILE = "sweep-parameters.schema.json"
RUN_RECORD_FILE = "run.schema.json"
EVIDENCE_FILE = "evidence.schema.json"


def attribute_docs(cls: type) -> dict[str, str]:
    """Descriptions of a class's attributes from its Google-style docstring (``Attributes:``)."""
    docs: dict[str, str] = {}
    current = None
    in_block = False
    for line in (cls.__doc__ or "").splitlines():
        stripped = line.strip()
        if stripped in ("Attributes:", "Args:"):
            in_block, current = True, None
            continue
        if not in_block:
            continue
        if not stripped:
            current = None
            continue
        name, sep, text = stripped.partition(":")
        if sep and name.isidentifier() and line.startswith(" " * 8) and not line.startswith(" " * 12):
            current = name
            docs[name] = text.strip()
        elif current is not None:
            docs[current] += " " + stripped
    return docs


def _described(prop: dict[str, Any], scope: str, text: str | None) -> dict[str, Any]:
    return {**prop, "description": f"[{scope}] {text or prop.get('description', '')}".strip()}


def parameters_schema() -> dict[str, Any]:
    """The JSON Schema of a flat sweep parameter file (every section's fields and every runtime's own ones)."""
    properties: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for section_name, section in SECTIONS.items():
        schema = section.model_json_schema()
        definitions.update(schema.get("$defs", {}))
        docs = attribute_docs(section)
        for name, prop in schema["properties"].items():
            properties[name] = _described(prop, section_name, docs.get(name))
    for spec in RUNTIMES.values():
        schema = spec.settings.model_json_schema()
        definitions.update(schema.get("$defs", {}))
        docs = attribute_docs(spec.settings)
        for name, field in spec.parameters.items():
            properties[name] = _described(schema["properties"][field], f"runtime: {spec.name}", docs.get(field))
    properties["runtime"] = {**properties["runtime"], "enum": list(RUNTIMES)}
    document: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "benchlib sweep parameters",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if definitions:
        document["$defs"] = definitions
    return document


def run_record_schema() -> dict[str, Any]:
    """The JSON Schema of ``run.json``."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **RunRecord.model_json_schema()}


def evidence_schema() -> dict[str, Any]:
    """The JSON Schema of an evidence file (``data/reference/evidence/*.yaml``)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **EvidenceFile.model_json_schema(by_alias=True)}


def write_schemas(out_dir: str | Path) -> list[Path]:
    """Write the three schemas into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in ((PARAMETERS_FILE, parameters_schema()), (RUN_RECORD_FILE, run_record_schema()),
                         (EVIDENCE_FILE, evidence_schema())):
        path = out / name
        path.write_text(json.dumps(schema, indent=2) + "\n")
        written.append(path)
    return written
