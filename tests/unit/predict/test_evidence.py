"""The evidence library and models.yaml: every shipped file valid, bad files refused with the field named."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from benchlib.config.schema import evidence_schema
from benchlib.hardware.model_reference import ModelFileError, load_models
from benchlib.predict.evidence import METRIC_UNITS, EvidenceFileError, evidence_dir, load_evidence
from benchlib.predict.predictor import load_library

ROOT = Path(__file__).resolve().parents[3]
EVIDENCE_FILES = sorted(evidence_dir().glob("*.yaml"))
ARTICLE = ROOT.parent / "shared" / "seed" / "benchmark-article.txt"

GOOD_ENTRY = {
    "id": "pi5-3b", "hardware": "raspberry-pi-5", "runtime": {"name": "ollama", "class": "llama.cpp"},
    "model": {"id": "llama-3.2-3b", "quantization": "q4_k_m"}, "workload": {"concurrency": 1},
    "metric": "decode_tps", "value": 4.6, "unit": "tokens/s", "quote": "4.6 Tokens/s",
}  # fmt: skip
SOURCE = {"title": "a test source", "url": "https://example.invalid/x", "measured_by": "someone",
          "retrieved": "2026-12-07", "kind": "evidence"}  # fmt: skip


@pytest.mark.parametrize("path", EVIDENCE_FILES, ids=lambda p: p.name)
def test_every_shipped_evidence_file_matches_the_json_schema(path):
    jsonschema.validate(yaml.safe_load(path.read_text()), evidence_schema())


def test_the_library_loads_with_every_id_known():
    library = load_library()
    points = library.evidence.points
    assert len(library.evidence.evidence()) >= 100
    hardware = {p.entry.hardware for p in library.evidence.evidence()}
    # the mission's platforms: the Pi 5's CPU, the Hailo-10H, and datacenter GPUs
    assert {"raspberry-pi-5", "hailo-10h", "nvidia-h100-sxm", "nvidia-l4"} <= hardware
    keys = [p.key for p in points]
    assert len(keys) == len(set(keys))
    for point in library.evidence.evidence():
        assert point.source.url and point.entry.quote and point.source.retrieved
    # single-stream and batched figures both exist
    metrics = {p.entry.metric for p in library.evidence.evidence()}
    assert {"decode_tps", "output_tps", "ttft_s", "power_w", "j_per_token"} <= metrics
    # where nothing credible was found, the files say so
    assert any(gap.hardware == "nvidia-a10g" for _, gap in library.evidence.gaps())


def test_the_article_figures_are_claims_quoted_verbatim():
    library = load_library()
    claims = library.evidence.claims()
    assert len(claims) >= 10
    assert {c.entry.hardware for c in claims} >= {"raspberry-pi-5", "nvidia-l4", "nvidia-a10g", "nvidia-h100-pcie"}
    if ARTICLE.exists():  # shared/ beside the checkout (CI lays it there)
        text = ARTICLE.read_text()
        for claim in claims:
            assert claim.entry.quote in text, claim.key
    # claims never calibrate
    calibration_keys = {o.key for o in library.calibration().observations}
    assert not calibration_keys & {c.key for c in claims}


def _write(folder: Path, entries, source=SOURCE, name="one.yaml") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump({"schema_version": 1, "source": source, "entries": entries}))
    return folder


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit": "tok/s"}, "unit of decode_tps must be 'tokens/s', not 'tok/s'"),
        ({"metric": "speed"}, "entries.0.metric"),
        ({"workload": {"concurrency": 4}}, "decode_tps is a single-stream rate"),
        ({"metric": "power_w", "unit": "W"}, "power_w needs power_boundary"),
        ({"power_boundary": "wall"}, "power_boundary is only for power_w and j_per_token"),
        ({"value": -1}, "entries.0.value"),
        ({"runtime": {"name": "x", "class": "tgi"}}, "entries.0.runtime.class"),
        ({"quote": None}, "entries.0.quote"),
    ],
)
def test_a_bad_entry_is_refused_with_its_field(tmp_path, change, message):
    folder = _write(tmp_path / "ev", [{**GOOD_ENTRY, **change}])
    with pytest.raises(EvidenceFileError, match="one.yaml") as info:
        load_evidence(folder)
    assert message in str(info.value)


def test_unknown_ids_are_refused_with_the_valid_ones(tmp_path):
    folder = _write(tmp_path / "ev", [{**GOOD_ENTRY, "hardware": "raspberry-pi-6"}])
    with pytest.raises(EvidenceFileError) as info:
        load_evidence(folder, hardware_ids={"raspberry-pi-5", "nvidia-l4"})
    assert "hardware 'raspberry-pi-6' is not in hardware.yaml; valid: nvidia-l4, raspberry-pi-5" in str(info.value)


def test_every_problem_of_the_folder_at_once(tmp_path):
    folder = _write(tmp_path / "ev", [{**GOOD_ENTRY, "unit": "x"}], name="a.yaml")
    _write(folder, [GOOD_ENTRY, GOOD_ENTRY], name="b.yaml")
    (folder / "c.yaml").write_text("schema_version: 1\nsource: [\n")
    with pytest.raises(EvidenceFileError) as info:
        load_evidence(folder)
    text = str(info.value)
    assert "a.yaml" in text and "appears twice" in text and "c.yaml is not valid YAML" in text


def test_a_source_needs_a_valid_date_and_kind(tmp_path):
    folder = _write(tmp_path / "ev", [GOOD_ENTRY], source={**SOURCE, "retrieved": "yesterday", "kind": "rumour"})
    with pytest.raises(EvidenceFileError) as info:
        load_evidence(folder)
    assert "retrieved must be YYYY" in str(info.value) or "source.kind" in str(info.value)
    assert "source.kind" in str(info.value)


def test_models_yaml_geometry_is_consistent():
    models = load_models()
    for key in ("llama-3.2-3b", "llama-3.1-8b", "llama-2-7b", "qwen2.5-1.5b", "smollm2-135m", "gemma3-270m"):
        entry = models.models[key]
        # the embedding table is vocab x hidden, as every config states
        assert entry.embedding_parameters.number == entry.vocab_size.number * entry.hidden_size.number, key
        assert entry.parameters.number > entry.embedding_parameters.number
    assert models.quantizations["q4_0"].bits_per_weight.number == 4.5  # 18 bytes per 32 weights
    geometry = models.geometry("llama-3.1-8b", "q4_k_m")
    assert geometry.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ModelFileError, match="unknown model 'llama-9b'; models.yaml has: .*llama-3.1-8b"):
        load_models().geometry("llama-9b", "q4_0")


def test_the_metric_table_is_documented():
    readme = (evidence_dir() / "README.md").read_text()
    for metric, unit in METRIC_UNITS.items():
        assert f"| `{metric}` | {unit} |" in readme
    assert json.loads(json.dumps(evidence_schema()))["title"] == "EvidenceFile"
