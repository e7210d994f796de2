"""Pins what existing run directories depend on: the run id of every shipped parameter file and run.json's keys.

A refactor that changes a run id orphans every run directory users already
have (a re-run would not resume them); one that drops a key of ``run.json``
breaks the report that reads old runs. The expected values were recorded
before the sweep engine was restructured (tests/fixtures/compat_pins.json)
and must not change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchlib.config import SweepConfig
from benchlib.sweep import run_sweep

pytestmark = [pytest.mark.model, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[1]
PINS = json.loads((ROOT / "tests" / "fixtures" / "compat_pins.json").read_text())

VARIANTS = {
    "onnx-fp32-synthetic": {"runtime": "onnx", "onnx_precision": "fp32", "prompts": "synthetic", "prompt_tokens": 32},
    "llama.cpp-flash-on-custom-prompts": {"flash_attn": "on", "prompts": ["Hello there.", "Why is the sky blue?"]},
    "llama.cpp-synthetic-priced": {"prompts": "synthetic", "prompt_tokens": 64, "price_profile": "pi5"},
    "http-chat-open-loop": {
        "runtime": "http", "url": "http://10.0.0.2:8000", "api": "openai-chat", "served_model": "m",
        "rates_rps": [0.5, 2.0], "concurrency": [], "slo_ttft_s": 0.5, "cache_prompt": "off",
    },
}  # fmt: skip
"""Parameter sets beyond the shipped files, covering every runtime's and workload's own parameters."""

KEY_SUBTREES_IGNORED = ("machine", "runtime", "power", "model.server", "network")
"""Subtrees whose keys describe the machine or the server, not benchlib's format."""


def _parameter_files() -> dict[str, dict[str, Any]]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "params").glob("*.yaml"))}


def _run_ids() -> dict[str, str]:
    ids = {name: SweepConfig.from_mapping(values).run_id() for name, values in _parameter_files().items()}
    ids.update({f"variant:{name}": SweepConfig.from_mapping(values).run_id() for name, values in VARIANTS.items()})
    return ids


def key_paths(value: Any, prefix: str = "") -> list[str]:
    """Every key path of a JSON value (lists: their first element, as ``[]``)."""
    if prefix.rstrip(".") in KEY_SUBTREES_IGNORED:
        return []
    if isinstance(value, dict):
        paths = []
        for key, item in value.items():
            path = f"{prefix}{key}"
            paths.append(path)
            paths += key_paths(item, path + ".")
        return paths
    if isinstance(value, list) and value and isinstance(value[0], (dict, list)):
        return key_paths(value[0], prefix.rstrip(".") + "[].")
    return []


def _assert_keeps_keys(meta: dict[str, Any], kind: str) -> None:
    """Every pinned key is still written (new keys may be added; none may go)."""
    missing = sorted(set(PINS["run_json_keys"][kind]) - set(key_paths(meta)))
    assert not missing, f"run.json of a {kind} sweep no longer has {missing}"


def test_every_parameter_file_keeps_its_run_id(monkeypatch):
    monkeypatch.chdir(ROOT)  # price_files are relative to the checkout
    assert _run_ids() == PINS["run_ids"]


def test_run_json_of_an_in_process_sweep_keeps_its_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    values = {**yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text()), "output_tokens": 3, "repetitions": 1}
    result = run_sweep(SweepConfig.from_mapping({**values, "output_dir": str(tmp_path)}), progress=False)
    meta = json.loads((result.run_dir / "run.json").read_text())
    _assert_keeps_keys(meta, "llama.cpp")


def test_run_json_of_a_load_sweep_keeps_its_keys(tmp_path, monkeypatch):
    from benchlib.testing.local_servers import reserve_port, replay_server

    server = replay_server(reserve_port(), tmp_path / "server.log").start()
    try:
        values = dict(
            profile="pins", runtime="http", url=server.url, model="replay", prompts="tiny", output_tokens=4,
            concurrency=[1, 2], step_min_requests=2, warmup=1, power="none", slo_ttft_s=1.0,
            price_profile="l4", output_dir=str(tmp_path / "runs"),
        )  # fmt: skip
        result = run_sweep(SweepConfig.from_mapping(values), progress=False)
    finally:
        server.stop()
    meta = json.loads((result.run_dir / "run.json").read_text())
    _assert_keeps_keys(meta, "http")


def record_pins() -> None:  # pragma: no cover - run by hand, once, before a refactor
    """Write tests/fixtures/compat_pins.json from the current code (``python tests/test_compat_pins.py``)."""
    import os
    import tempfile

    os.chdir(ROOT)
    pins: dict[str, Any] = {"run_ids": _run_ids(), "run_json_keys": {}}

    for kind, test in (("llama.cpp", test_run_json_of_an_in_process_sweep_keeps_its_keys),
                       ("http", test_run_json_of_a_load_sweep_keeps_its_keys)):  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            global PINS
            PINS = {"run_json_keys": {}}
            PINS["run_json_keys"][kind] = []
            test(Path(tmp), pytest.MonkeyPatch())
            run_file = next(Path(tmp).rglob("run.json"))
            pins["run_json_keys"][kind] = sorted(set(key_paths(json.loads(run_file.read_text()))))
    (ROOT / "tests" / "fixtures" / "compat_pins.json").write_text(json.dumps(pins, indent=2) + "\n")


if __name__ == "__main__":  # pragma: no cover
    record_pins()
