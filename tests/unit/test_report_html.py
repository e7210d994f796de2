"""figures/report.html (benchlib.report_html): one self-contained file, sections in the reader's order, sortable
tables, every figure embedded, and the provenance of the numbers; a missing input is said, never a crash.

The figures folder is small and built here from excerpts of a real ``make report`` (rows copied from its CSV
and Markdown files, columns trimmed); the runs are ``tests/fixtures/runs``. No browser, no subprocess (the git
commit is stubbed).
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from benchlib import cli
from benchlib.report_html import REPORT_NAME, build_report, report_context
from benchlib.report_html import build as report_build
from benchlib.report_html.build import format_value, inline_markdown

FIXTURE_RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "runs"
RUN_IDS = ("smoke-llama-server-smollm2-135m-q4_1-11ed740dfe", "smoke-smollm2-135m-q4_1-1917bee6b3")
ORDER = ["decision", "candidates", "runs", "plausibility", "comparisons", "cost", "hybrid", "provenance"]
HEADLINE = "Recommended for llama-2-7b q4_0 at 1,000,000 requests/day (128 output tokens each): 2 × L4 (predicted)"

DECISION_MD = """# Decision

## Inputs

- Targets: time to first token ≤ 2000 ms, per-token latency ≤ 100 ms, checked at p95 (TTFT and end-to-end include the queue wait)
- Service level: MLPerf checks its limits at p99; source: https://github.com/mlcommons/inference_policies/blob/ac93e89c0c9a8819eb0ad987768c2f6e22896714/inference_rules.adoc, read 2026-12-07)
- Price files: data/reference/prices.yaml (prices are assumptions, taken as exact; cost intervals come from the throughput intervals)

## Recommendation

Recommended for llama-2-7b q4_0 at 1,000,000 requests/day (128 output tokens each): 2 × L4 (predicted), batching 32 streams each, always-on; at the peak hour utilization 67%, p95 queue wait 0 s; $24.00 [$24.00, $36.00]/day, $0.19 per million output tokens. The edge loses: Raspberry Pi 5 (CPU) (predicted) misses p95 time to first token: 27.15 s > 2 s (13.6x the limit).

**L4** (cloud, predicted, llama-2-7b q4_0): one device batching 32 streams serves 1101 [780.2, 1553] tok/s = 8.599 req/s

## Runners-up

- **A10G** (cloud, predicted, llama-2-7b q4_0): costs $48.00/day more than L4 (always-on $72.00/day vs always-on $24.00/day)

## Why each other candidate loses

- **Raspberry Pi 5 (CPU)**: misses p95 time to first token: 27.15 s > 2 s (13.6x the limit)
"""

DECISION_CSV = """rank,candidate,class,source,model,variant,qualifies,recommended,why,capacity_basis,peak_devices,cost_per_day_usd,cost_per_day_usd_ci_low,cost_per_day_usd_ci_high
1,L4,cloud,predicted,llama-2-7b q4_0,always-on,True,True,recommended,"predicted (benchlib.predict, calibrated on published measurements)",2.0,24.0,24.0,36.0
2,A10G,cloud,predicted,llama-2-7b q4_0,always-on,True,False,costs $48.00/day more than L4 (always-on $72.00/day vs always-on $24.00/day),"predicted (benchlib.predict, calibrated on published measurements)",2.0,72.0,36.0,72.0
4,Raspberry Pi 5 (CPU),edge,predicted,llama-2-7b q4_0,,False,False,misses p95 time to first token: 27.15 s > 2 s (13.6x the limit),"predicted (benchlib.predict, calibrated on published measurements)",,,,
"""

SUMMARY_CSV = """source,basis,platform,model,comparison_group,metric,label,unit,n,median,ci_low,ci_high,p95,p95_ci_low,p95_ci_high,p99,p99_ci_low,p99_ci_high,interval,tail_note,published_kind,plausibility,note
local-cpu-smollm2-135m-q4_1-4d6de944f5,measured,this machine (CPU),llama 134.5M Q4_1 · b179c952,llama 134.5M Q4_1 · b179c952 | prompts short → 128 tok,tpot_s,per-token latency (time per output token),s,20.0,0.0073232227913377565,0.007135996318896743,0.008470345992127405,0.008941873324015182,,,0.00901975694511619,,,bootstrap of requests within prompt; one run: interval covers within-run variation only,"n too small for a p95 and p99 interval (have 20, need >= 72)",,ok,
local-cpu-smollm2-135m-q4_1-4d6de944f5,measured,this machine (CPU),llama 134.5M Q4_1 · b179c952,llama 134.5M Q4_1 · b179c952 | prompts short → 128 tok,itl_s,inter-token gap,s,2540.0,0.007358400500379503,0.0070900613391897205,0.007987454115873165,0.009535933549796025,0.008850004409143117,0.009914950000165845,0.0108772126299482,0.010198028126856088,0.01152779008020844,cluster bootstrap of requests (their gaps pooled); one run: interval covers within-run variation only,,,ok,
"""

PLAUSIBILITY_CSV = """label,name,platform,model,metric,figure_tps,ceiling_tps,percent_of_ceiling,verdict
measured,local-cpu-smollm2-135m-q4_1-4d6de944f5 (measured),this machine (CPU),smollm2-135m-q4_1,decode_tps_median,136.55191690739073,304.5551891409501,44.83650969551979,ok
published,Raspberry Pi 5 + AI HAT+ 2 7B q4: 1 / per-token latency (published),Raspberry Pi 5 + AI HAT+ 2,7B q4,per_token_latency,8.333333333333334,4.347213263629754,191.6936857699805,implausible: above the bandwidth ceiling
"""

COMPARISONS_CSV = (
    "comparison_group,run_a,run_b,platform_a,platform_b,metric,unit,better,n_a,n_b,median_a,median_b,ratio,ci_low,"
    "ci_high,p_value,p_holm,significant,practically_equivalent,verdict,basis,scope\n"
)

COST_MODEL_CSV = """platform,source,profile,kind,throughput_tps,cost_per_million_usd
"Raspberry Pi 5 + AI HAT+ 2 · llama-2-7b q4_0 (predicted, 1 stream)",predicted,pi5,owned,1.6275117311148757,1.8005742687664237
"L4-class GPU · llama-2-7b q4_0 (predicted, 64 streams)",predicted,l4,rented,1176.8821764418442,0.11801426826668585
"""

HYBRID_CSV = """n_edge,edge_share,requests_per_day,edge_requests,cloud_requests,edge_utilization,peak_overflow_rps,edge_cost_per_day_usd,cloud_cost_per_day_usd,total_cost_per_day_usd,e2e_s_p95,tpot_s_p95,ttft_s_p95,slo_attainment,edge_attainment,cloud_attainment,meets_targets,cheapest
0,0.0,998424,0,998424,0.0,33.0,0.0,24.0,24.0,3.721394892669862,0.028368183959874865,0.11863552976575419,1.0,0.0,1.0,True,True
1,0.0010817047667123385,998424,1080,997344,0.9830958323747199,33.0,0.25294887402298755,24.0,24.252948874022987,3.721394892669862,0.028368183959874865,0.11863552976575419,0.9989182952332877,0.0,1.0,False,False
"""

RUNS_CSV = """run_id,status,platform
local-cpu-smollm2-135m-q4_1-4d6de944f5,complete,this machine (CPU)
smoke-smollm2-135m-q4_1-1917bee6b3,complete,this machine (CPU)
"""

EVIDENCE_YAML = """schema_version: 1
source:
  title: "AI/LLM Benchmarks (llama.cpp and Ollama) by Jeff Geerling"
  url: https://github.com/geerlingguy/ai-benchmarks/blob/6de90e1/README.md
entries: []
"""


def _png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture(autouse=True)
def _no_git(monkeypatch):
    """The commit is stubbed: a unit test starts no process."""
    monkeypatch.setattr(report_build, "git_commit", lambda: "0123456789abcdef0123456789abcdef01234567")


@pytest.fixture
def figures(tmp_path) -> Path:
    folder = tmp_path / "figures"
    folder.mkdir()
    files = {"decision.md": DECISION_MD, "decision.csv": DECISION_CSV, "summary.csv": SUMMARY_CSV,
             "plausibility.csv": PLAUSIBILITY_CSV, "comparisons.csv": COMPARISONS_CSV,
             "cost_model.csv": COST_MODEL_CSV, "hybrid.csv": HYBRID_CSV, "runs.csv": RUNS_CSV}  # fmt: skip
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    for name in ("hybrid.png", "break_even.png", "throughput.png", "something_new.png"):
        (folder / name).write_bytes(_png())
    return folder


@pytest.fixture
def reference(tmp_path) -> Path:
    folder = tmp_path / "reference"
    (folder / "evidence").mkdir(parents=True)
    (folder / "evidence" / "geerlingguy-ai-benchmarks.yaml").write_text(EVIDENCE_YAML)
    (folder / "prices.yaml").write_text("schema_version: 1\nprofiles: {}\n")
    return folder


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <style> and <script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self._inside = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._inside = tag if tag in ("style", "script") else ""

    def handle_endtag(self, tag):
        self._inside = ""

    def handle_data(self, data):
        if self._inside == "style":
            self.styles.append(data)
        elif self._inside == "script":
            self.scripts.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def _build(figures: Path, reference: Path, **kwargs) -> tuple[str, _Elements]:
    path = build_report(figures, FIXTURE_RUNS, reference_dir=reference, **kwargs)
    html = path.read_text(encoding="utf-8")
    parsed = _Elements()
    parsed.feed(html)
    return html, parsed


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_written_to_the_figures_folder_by_default(figures, reference):
    path = build_report(figures, FIXTURE_RUNS, reference_dir=reference)
    assert path == figures / REPORT_NAME and path.read_text().startswith("<!DOCTYPE html>")


def test_written_where_asked(figures, reference, tmp_path):
    assert build_report(figures, FIXTURE_RUNS, tmp_path / "out" / "r.html", reference_dir=reference).is_file()


def test_sections_in_the_readers_order_with_a_table_of_contents(figures, reference):
    html, parsed = _build(figures, reference)
    assert [a["id"] for a in parsed.all("section")] == ORDER
    toc = html[html.index('<nav class="toc"') : html.index("</nav>")]
    assert re.findall(r'href="#(\w+)"', toc) == ORDER


def test_the_decision_headline_comes_first(figures, reference):
    html, _ = _build(figures, reference)
    decision = _section(html, "decision")
    assert HEADLINE in decision and 'class="headline"' in decision
    assert "<strong>L4</strong>" in decision  # decision.md's bold, rendered
    assert "<dt>capacity_basis</dt><dd>predicted (benchlib.predict" in decision  # its basis, from decision.csv
    assert "27.15 s &gt; 2 s" in decision  # escaped, not markup
    assert "Why each other candidate loses" in _section(html, "candidates")


def test_every_image_is_embedded_with_a_caption(figures, reference):
    html, parsed = _build(figures, reference)
    images = parsed.all("img")
    assert len(images) == 4
    for image in images:
        assert image["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(image["src"].split(",", 1)[1]) == _png()
        assert image["alt"]
    assert "hybrid.png: total daily cost" in _section(html, "hybrid")
    assert "break_even.png" in _section(html, "cost")
    assert "something_new.png" in _section(html, "runs")  # an unknown figure is still shown


def test_no_external_resource(figures, reference):
    _, parsed = _build(figures, reference)
    for tag, attrs in parsed.tags:
        assert not re.match(r"\s*(https?:)?//", attrs.get("src", "")), (tag, attrs)
        if tag in ("link", "script"):
            assert not attrs.get("href") and not attrs.get("src"), (tag, attrs)
    css = "\n".join(parsed.styles) + "\n".join(a.get("style", "") for _, a in parsed.tags)
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    assert parsed.scripts and all("fetch(" not in s and "XMLHttpRequest" not in s for s in parsed.scripts)
    external = [a["href"] for a in parsed.all("a") if a.get("href", "").startswith("https://")]
    assert external, "plain links to sources are allowed and expected (decision.md's MLPerf source)"


def test_tables_are_sortable_with_numbers_sorted_as_numbers(figures, reference):
    _, parsed = _build(figures, reference)
    tables = parsed.all("table")
    assert tables and all("sortable" in t.get("class", "").split() for t in tables)
    values = [a["data-value"] for a in parsed.all("td") if "data-value" in a]
    assert values and all(float(v) == float(v) for v in values)
    script = "\n".join(parsed.scripts)
    assert "aria-sort" in script and "data-value" in script and "click" in script


def test_printable(figures, reference):
    html, _ = _build(figures, reference)
    style = html[html.index("<style>") : html.index("</style>")]
    block = style[style.index("@media print") :]
    assert "break-inside: avoid" in block and "max-width: 100%" in block
    assert "height:" not in block.replace("height: auto", "")  # no fixed height in print


def test_provenance(figures, reference):
    html, _ = _build(figures, reference)
    provenance = _section(html, "provenance")
    for run_id in RUN_IDS:
        assert run_id in provenance
    assert "local-cpu-smollm2-135m-q4_1-4d6de944f5</td><td>in runs.csv, not in" in provenance  # said so
    assert report_build.importlib.metadata.version("benchlib") in provenance
    assert "0123456789abcdef0123456789abcdef01234567" in provenance
    assert "AMD EPYC" in provenance and "Debian GNU/Linux 12" in provenance  # machine fingerprint
    assert "evidence/geerlingguy-ai-benchmarks.yaml" in provenance
    assert '<a href="https://github.com/geerlingguy/ai-benchmarks/blob/6de90e1/README.md"' in provenance
    assert re.search(r"[0-9a-f]{64}", provenance)  # sha256 of the files
    assert "data/reference/prices.yaml" in provenance  # the price file decision.md names
    assert "params/prices/local-cpu.yaml" in provenance  # the price file the fixture runs name


def test_a_missing_decision_csv_is_said_not_a_crash(figures, reference):
    (figures / "decision.csv").unlink()
    html, _ = _build(figures, reference)
    assert "not produced by this report run: decision.csv" in _section(html, "decision")
    assert "not produced by this report run: decision.csv" in _section(html, "candidates")
    assert HEADLINE in html  # decision.md is still read


def test_a_figures_folder_that_does_not_exist_still_builds(tmp_path, reference):
    _, parsed = _build(tmp_path / "never-made", reference)
    assert [a["id"] for a in parsed.all("section")] == ORDER


def test_an_empty_figures_folder_still_builds(tmp_path, reference):
    empty = tmp_path / "nothing"
    empty.mkdir()
    html, parsed = _build(empty, reference)
    assert [a["id"] for a in parsed.all("section")] == ORDER
    for section_id in ORDER[:-1]:
        assert "not produced by this report run" in _section(html, section_id), section_id
    assert not parsed.all("img")


def test_a_table_with_only_its_header_says_so(figures, reference):
    html, _ = _build(figures, reference)
    assert "no rows: comparisons.csv has only its header" in _section(html, "comparisons")


def test_text_in_a_table_is_escaped(figures, reference):
    (figures / "hybrid.csv").write_text('n_edge,note\n0,"<script>alert(1)</script>"\n')
    html, parsed = _build(figures, reference)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert len(parsed.all("script")) == 1


def test_a_missing_runs_folder_is_said(figures, reference, tmp_path):
    path = build_report(figures, tmp_path / "no-runs", reference_dir=reference)
    assert "no run directory with a run.json" in path.read_text()


def test_context_lists_the_reference_files_with_their_hashes(figures, reference):
    context = report_context(figures, FIXTURE_RUNS, reference)
    kinds = {row["path"].rsplit("/", 1)[-1]: row["kind"] for row in context["provenance"]["reference"]}
    assert kinds == {"geerlingguy-ai-benchmarks.yaml": "evidence", "prices.yaml": "prices"}


@pytest.mark.parametrize(
    ("value", "text", "sort"),
    [(None, "", None), (float("nan"), "", None), (True, "True", None), ("ok", "ok", None), (3, "3", "3.0"),
     (24.0, "24", "24.0"), (0.0073232227913377565, "0.007323", "0.0073232227913377565"),
     (998424.0, "998,424", "998424.0"), (float("inf"), "inf", "Infinity")],
)  # fmt: skip
def test_format_value(value, text, sort):
    assert format_value(value) == (text, sort)


def test_inline_markdown_escapes_then_renders():
    html = str(inline_markdown("**L4** < `x` *y* (see https://example.org/a.b, then)"))
    assert html == ('<strong>L4</strong> &lt; <code>x</code> <em>y</em> (see '
                    '<a href="https://example.org/a.b">https://example.org/a.b</a>, then)')  # fmt: skip


def test_benchlib_report_writes_it_after_the_notebooks(figures, tmp_path, monkeypatch, capsys):
    """``benchlib report`` builds figures/report.html once the notebooks ran, and prints its path."""
    ran = []
    monkeypatch.setattr(cli, "run_report_notebook", lambda *args, **kwargs: ran.append(args) or [])
    code = cli.main(["report", "--figures-dir", str(figures), "--runs-dir", str(FIXTURE_RUNS),
                     "--output-dir", str(tmp_path / "notebooks")])  # fmt: skip
    assert code == 0 and ran
    assert HEADLINE in (figures / REPORT_NAME).read_text(encoding="utf-8")
    assert f"{(figures / REPORT_NAME).resolve()}" in capsys.readouterr().out
