"""The ``benchlib`` command line: sweep, fleet, report, models, doctor, native, convert, bench, exporter, predict, schema.

Every deliberate error (:class:`benchlib.errors.BenchlibError`) is printed as
one message that says what to fix, with exit status 2; a failed notebook exits
with status 1 and names the executed notebook to open. The notebooks run
through :mod:`benchlib.notebook_runner`; its public functions are re-exported
here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchlib.config.schema import write_schemas
from benchlib.ctrl_c_forwarding import EXIT_INTERRUPTED
from benchlib.errors import BenchlibError, ParameterError, SweepInterrupted
from benchlib.fleet.local import FleetStatus, format_outcomes, run_fleet_local
from benchlib.fleet.matrix import format_dry_run, load_fleet
from benchlib.fleet.ray_runner import cluster_devices, run_fleet_ray
from benchlib.importers.writer import ImportSettings, import_file
from benchlib.machine import memory_bandwidth
from benchlib.models import CATALOGUE, DEFAULT_MODEL, install_models, resolve_model
from benchlib.native import build_native, native_dir, native_status
from benchlib.notebook_execution import NotebookFailed
from benchlib.notebook_runner import (
    load_parameter_file,
    notebook_parameter_names,
    run_report_notebook,
    run_sweep_notebook,
    run_sweep_repeats,
)
from benchlib.paths import BENCH_DEFAULT, FIGURES_DEFAULT, REPORT_DEFAULT, RUNS_DEFAULT, SCHEMA_DEFAULT, reference_csv
from benchlib.power import doctor, format_doctor
from benchlib.predict.command import add_predict_parser
from benchlib.prometheus.exporter_run import parse_reader_options, run_exporter
from benchlib.records import atomic_write_json
from benchlib.records.listing import LISTING_COLUMNS, list_runs
from benchlib.report_html import build_report
from benchlib.runtimes.onnx.conversion import DEFAULT_PRECISION, convert
from benchlib.runtimes.onnx.quality import quality_check
from benchlib.sweep.command import add_sweep_parser
from benchlib.thermal import detect_thermal_sources, format_thermal_sources

__all__ = [
    "NotebookFailed",
    "load_parameter_file",
    "main",
    "notebook_parameter_names",
    "run_report_notebook",
    "run_sweep_notebook",
    "run_sweep_repeats",
]


def _cmd_fleet(args: argparse.Namespace) -> int:
    import time

    fleet = load_fleet(args.file)
    if args.dry_run:
        print(format_dry_run(fleet, Path(args.runs_dir)))
        return 0
    started = time.perf_counter()
    if args.ray:
        outcomes = run_fleet_ray(fleet, Path(args.runs_dir), address=args.ray, progress=not args.quiet)
    else:
        outcomes = run_fleet_local(fleet, Path(args.runs_dir), progress=not args.quiet)
    print(format_outcomes(outcomes, time.perf_counter() - started))
    return 1 if any(o.kind == FleetStatus.FAILED for o in outcomes) else 0


def _cmd_report(args: argparse.Namespace) -> int:
    # heavy: benchlib.analysis loads statsmodels; only `benchlib report` needs it
    from benchlib.analysis import skipped_runs

    written = run_report_notebook(args.runs_dir, args.figures_dir, args.reference, args.output_dir, args.prices,
                                  args.decision)  # fmt: skip
    skipped = skipped_runs(args.runs_dir)
    for row in skipped.itertuples():
        print(f"Skipped {row.run}: {row.reason}")
    print(f"Executed notebooks: {Path(args.output_dir).resolve()}/analysis.ipynb, cost_model.ipynb, decision.ipynb")
    print("Written:")
    for path in written:
        print(f"  {path}")
    html = build_report(args.figures_dir, args.runs_dir)  # the one file to hand on: figures/report.html
    print(f"Report (one self-contained HTML file): {html.resolve()}")
    summary = Path(args.figures_dir) / "summary.md"
    if summary.exists():
        print()
        print(summary.read_text())
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    settings = ImportSettings(
        platform=args.platform, runs_dir=Path(args.runs_dir), price_profile=args.price_profile or "",
        price_files=tuple(args.prices), power_w=args.power_w, energy_j=args.energy_j,
    )  # fmt: skip
    for written in import_file(args.file, args.tool, settings):
        what = "imported" if written.created else "already imported (unchanged)"
        print(f"{what}: {written.path}" + (f"  [{written.label}]" if written.label else ""))
        for warning in written.warnings:
            print(f"  warning: {warning}")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    rows = list_runs(args.runs_dir)
    if not rows:
        print(f"No runs under {Path(args.runs_dir).resolve()}.")
        return 0
    print(tabulate([[row[c] for c in LISTING_COLUMNS] for row in rows], headers=LISTING_COLUMNS))
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    if args.action == "install":
        install_models(args.names or None)
        return 0
    if args.action == "show":
        if not args.names:
            raise ParameterError("benchlib models show needs a catalogue name or a GGUF path.")
        for name in args.names:
            info = resolve_model(name)
            for key, value in info.to_dict().items():
                print(f"{key:>16}: {value}")
        return 0
    for entry in CATALOGUE.values():
        try:
            resolve_model(entry.name)
            state = "ready"
        except BenchlibError as exc:
            state = f"not ready: {exc}"
        default = " (default)" if entry.name == DEFAULT_MODEL else ""
        print(f"{entry.name}{default}\n    {entry.description}\n    package {entry.pip_requirement}; {state}")
    print("Any local GGUF file can be given by path as the model parameter.")
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    statuses = doctor(prometheus_url=args.prometheus)
    print("Power sources on this machine (ok: available, --: missing and why, ..: offline):")
    print(format_doctor(statuses))
    measured = [s.name for s in statuses if s.available and s.kind == "measured"]
    print()
    if measured:
        print(f"power: auto will use {measured[0]}.")
    else:
        print("power: auto will fall back to the hardware profile's estimate, recorded as estimated (not measured).")

    thermal = detect_thermal_sources()
    print(f"\nThermal and clock sources (recorded beside every run):\n{format_thermal_sources(thermal)}")
    thermal.close()
    print()
    _print_memory_bandwidth()
    print()
    _print_native_status()
    print()
    _print_fleet_status()
    return 0


def _print_fleet_status() -> None:
    """Whether Ray is installed for `benchlib fleet --ray`, and which devices a running cluster advertises."""
    import importlib.metadata
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        print("Ray: not installed; fleets run here one sweep at a time (for --ray: pip install -e '.[fleet]').")
        return

    version = importlib.metadata.version("ray")
    try:
        devices = cluster_devices("auto")
    except BenchlibError as exc:
        print(f"Ray {version}: installed; {str(exc).splitlines()[0]}")
        return
    listed = ", ".join(f"{label} ({amount:g})" for label, amount in sorted(devices.items())) or "none"
    print(f"Ray {version}: a cluster is running; devices it advertises (benchlib-device:LABEL): {listed}")


def _print_memory_bandwidth() -> None:
    probe = memory_bandwidth()
    if probe.get("gb_s") is None:
        print(f"memory bandwidth: not measured ({probe.get('error')})")
        return
    print(f"memory bandwidth: {probe['gb_s']:.1f} GB/s measured ({probe['bound']}: {probe['method']}, "
          f"{probe['duration_s']:.2f} s); sweeps record it in run.json machine.memory_bandwidth")  # fmt: skip


def _print_native_status() -> None:
    print("llama.cpp's own tools (make native):")
    for name, path, note in native_status():
        print(f"  {'ok' if path else '--'} {name:<13} {path or note}" + (f"  ({note})" if path else ""))


def _cmd_native(args: argparse.Namespace) -> int:
    if args.action == "build":
        print(f"llama.cpp's llama-server and llama-bench in {native_dir()} (built once: about 9 minutes on 2 cores)")
        build = build_native(jobs=args.jobs, force=args.force)
        done = "Already built" if build.reused else f"Built in {build.build_s:.0f} s"
        print(f"{done} with: {' '.join(build.cmake_options)}")
    _print_native_status()
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    converted = [convert(args.model, p, args.provider, force=args.force) for p in args.precision or [DEFAULT_PRECISION]]
    for item in converted:
        how = "cached" if item.reused else f"converted in {item.convert_s:.1f} s"
        print(f"{item.precision} for {item.provider}: {item.path}  ({item.size_bytes / 1e6:.0f} MB, {how})")
    if args.check:
        report = quality_check(args.model, [c.precision for c in converted], args.provider, output_tokens=args.check_tokens)
        print()
        print(report.to_markdown())
        if args.check_output:
            atomic_write_json(args.check_output, report.to_dict())
            print(f"Saved {args.check_output}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    # heavy: the benchmarks load statsmodels (benchlib.analysis); only `benchlib bench` needs them
    from benchlib.selfbench.bench import run_benchmarks

    run_benchmarks(args.output_dir, args.only or None)
    return 0


def _cmd_exporter(args: argparse.Namespace) -> int:
    options = parse_reader_options(args.option)
    return run_exporter(args.power, options, root=args.root, rate_hz=args.rate_hz, port=args.port, bind=args.bind)


def _cmd_schema(args: argparse.Namespace) -> int:
    print("\n".join(str(path) for path in write_schemas(Path(args.out))))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchlib", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    add_sweep_parser(commands)  # benchlib/sweep/command.py

    fleet = commands.add_parser("fleet", help="run a matrix of sweeps over devices: here one at a time, or on Ray")
    fleet.add_argument("file", help="fleet file, e.g. params/fleet/smoke.yaml")
    fleet.add_argument("--dry-run", action="store_true", help="list the sweeps, their run ids and status; run nothing")
    fleet.add_argument("--ray", metavar="auto|ADDRESS", default=None,
                       help="run on a Ray cluster, one sweep per device at a time (extra .[fleet])")
    fleet.add_argument("--runs-dir", default=RUNS_DEFAULT, help=f"where run directories go (default {RUNS_DEFAULT})")
    fleet.add_argument("--quiet", action="store_true", help="no progress bars")
    fleet.set_defaults(func=_cmd_fleet)

    report = commands.add_parser("report", help="run the analysis notebook: figures and summary table")
    report.add_argument("--runs-dir", default=RUNS_DEFAULT)
    report.add_argument("--figures-dir", default=FIGURES_DEFAULT)
    report.add_argument("--reference", default=str(reference_csv()))
    report.add_argument("--output-dir", default=REPORT_DEFAULT, help="where the executed notebooks go")
    report.add_argument("--prices", action="append", default=[], metavar="FILE", help="your price file (repeatable)")
    report.add_argument("--decision", metavar="FILE", default=None,
                        help="targets, workload and constraints of the decision (default: params/decision/decision.yaml)")
    report.set_defaults(func=_cmd_report)

    imports = commands.add_parser("import", help="import llama-bench, vLLM bench, guidellm or AIPerf output as runs")
    imports.add_argument("file", help="the tool's output file (JSON, JSONL)")
    imports.add_argument("--tool", default="auto", help="llama-bench, vllm, guidellm, aiperf or auto (default: recognise the file)")
    imports.add_argument("--platform", required=True, help="label of the platform the numbers were measured on (e.g. l4-vllm)")
    imports.add_argument("--runs-dir", default=RUNS_DEFAULT)
    imports.add_argument("--price-profile", default="", metavar="NAME", help="price the runs with this profile")
    imports.add_argument("--prices", action="append", default=[], metavar="FILE", help="your price file (repeatable)")
    energy = imports.add_mutually_exclusive_group()
    energy.add_argument("--power-w", type=float, default=None, metavar="W", help="mean power over the run, watts (stated, not measured)")
    energy.add_argument("--energy-j", type=float, default=None, metavar="J", help="energy over the run, joules (stated, not measured)")
    imports.set_defaults(func=_cmd_import)

    runs = commands.add_parser("runs", help="list the runs: id, condition and repeat, status, platform, model, requests done/planned, start")
    runs.add_argument("--runs-dir", default=RUNS_DEFAULT)
    runs.set_defaults(func=_cmd_runs)

    models = commands.add_parser("models", help="list, install or inspect models")
    models.add_argument("action", nargs="?", default="list", choices=["list", "install", "show"])
    models.add_argument("names", nargs="*", help="catalogue names (or GGUF paths for show)")
    models.set_defaults(func=_cmd_models)

    doctor = commands.add_parser("doctor", help="which power sources this machine has, and why not")
    doctor.add_argument("--prometheus", metavar="URL", default=None,
                        help="an exporter's /metrics or a Prometheus server to check (default: benchlib exporter on 127.0.0.1:9101)")
    doctor.set_defaults(func=_cmd_doctor)

    native = commands.add_parser("native", help="build or locate llama.cpp's own llama-server and llama-bench")
    native.add_argument("action", nargs="?", default="status", choices=["status", "build"])
    native.add_argument("--jobs", type=int, default=None, help="parallel compile jobs (default: every core)")
    native.add_argument("--force", action="store_true", help="build again even if a build exists")
    native.set_defaults(func=_cmd_native)

    convert = commands.add_parser("convert", help="convert a GGUF or Hugging Face folder to ONNX Runtime GenAI (cached)")
    convert.add_argument("model", help="catalogue name, GGUF path, or local Hugging Face folder")
    convert.add_argument("-p", "--precision", action="append", default=[], metavar="P",
                         help="int4 (default), int8, fp32 on cpu; also fp16, bf16 on cuda/tensorrt (repeatable)")
    convert.add_argument("-e", "--provider", default="cpu", help="execution provider: cpu (default), cuda, tensorrt")
    convert.add_argument("--force", action="store_true", help="convert again even if cached")
    convert.add_argument("--check", action="store_true",
                         help="then compare with llama.cpp on the GGUF: greedy token agreement and perplexity")
    convert.add_argument("--check-tokens", type=int, default=32, help="greedy tokens per prompt for --check")
    convert.add_argument("--check-output", metavar="FILE", help="save the --check report as JSON")
    convert.set_defaults(func=_cmd_convert)

    bench = commands.add_parser("bench", help="run benchlib's own benchmarks (harness accuracy, overheads)")
    bench.add_argument("--output-dir", default=BENCH_DEFAULT)
    bench.add_argument("--only", action="append", default=[], metavar="NAME", help="run only this benchmark (repeatable)")
    bench.set_defaults(func=_cmd_bench)

    exporter = commands.add_parser("exporter", help="expose this machine's power reader (and temperatures) as Prometheus metrics")
    exporter.add_argument("--power", required=True, metavar="SOURCE", help="pi5-pmic, ina2xx, rapl, nvml or auto")
    exporter.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                          help="a reader option, value as YAML/JSON, e.g. devices=ina226 (repeatable)")
    exporter.add_argument("--root", default=None, metavar="DIR", help="read sysfs under DIR instead of / (fixture trees)")
    exporter.add_argument("--rate-hz", type=float, default=10.0, help="samples per second (default 10)")
    exporter.add_argument("--port", type=int, default=9101, help="TCP port (default 9101)")
    exporter.add_argument("--bind", default="127.0.0.1", metavar="ADDRESS",
                          help="address to listen on (default 127.0.0.1; another lets that network read the metrics)")
    exporter.set_defaults(func=_cmd_exporter)

    add_predict_parser(commands)  # benchlib/predict/command.py

    schema = commands.add_parser("schema", help="write JSON Schema files for parameter files and run.json (editors validate YAML with them)")
    schema.add_argument("--out", default=SCHEMA_DEFAULT, metavar="DIR", help=f"folder for the schema files (default: {SCHEMA_DEFAULT})")
    schema.set_defaults(func=_cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``benchlib`` command."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except SweepInterrupted as exc:
        print(f"benchlib: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BenchlibError as exc:
        print(f"benchlib: error: {exc}", file=sys.stderr)
        return 2
    except NotebookFailed as exc:
        print(f"benchlib: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
