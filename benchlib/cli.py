"""The ``benchlib`` command line: sweep, report, models, doctor, native, bench.

Every deliberate error (:class:`benchlib.errors.BenchlibError`) is printed as
one message that says what to fix, with exit status 2; a failed notebook exits
with status 1 and names the executed notebook to open.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from benchlib.errors import BenchlibError, ParameterError

__all__ = ["main", "repo_root", "load_parameter_file", "run_sweep_notebook", "run_report_notebook"]

KERNEL_NAME = "benchlib"


def repo_root() -> Path:
    """The benchlib checkout (the folder that holds ``notebooks/`` and ``params/``)."""
    return Path(__file__).resolve().parents[1]


def _notebook(name: str) -> Path:
    path = repo_root() / "notebooks" / name
    if not path.exists():
        raise BenchlibError(f"Notebook {path} is missing; run benchlib from a checkout of the benchlib repository.")
    return path


def load_parameter_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML parameter file into a mapping.

    Raises:
        ParameterError: missing file, invalid YAML, or not a mapping.
    """
    path = Path(path)
    if not path.exists():
        profiles = sorted(p.stem for p in (repo_root() / "params").glob("*.yaml"))
        raise ParameterError(f"Parameter file {path} does not exist; shipped profiles: {', '.join(profiles)}.")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParameterError(f"Parameter file {path} is not valid YAML: {exc}") from exc
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ParameterError(f"Parameter file {path} must be a mapping of name: value, got {type(values).__name__}.")
    return values


def _parse_overrides(pairs: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ParameterError(f"--set takes NAME=VALUE, got {pair!r}.")
        overrides[name.strip()] = yaml.safe_load(text)
    return overrides


def notebook_parameter_names(notebook: Path) -> list[str]:
    """Names in the notebook's cell tagged ``parameters``."""
    import papermill

    return list(papermill.inspect_notebook(str(notebook)).keys())


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME if KERNEL_NAME in KernelSpecManager().find_kernel_specs() else "python3"


def _execute(notebook: Path, output: Path, parameters: dict[str, Any]) -> None:
    """Run a notebook with papermill; raise a one-line error naming the failed cell."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=_kernel_name(),
            cwd=str(repo_root()),
            progress_bar=False,
        )
    except PapermillExecutionError as exc:
        raise NotebookFailed(
            f"{notebook.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
            f"The executed notebook, with the traceback, is at {output}"
        ) from None


class NotebookFailed(Exception):
    """A notebook raised an error while papermill executed it."""


def _watch_progress(run_file: Path, worker: threading.Thread) -> None:
    """Show a progress bar from ``run.json`` while ``worker`` executes the notebook."""
    import json

    from tqdm import tqdm

    bar = None
    while worker.is_alive():
        worker.join(timeout=0.5)
        try:
            progress = json.loads(run_file.read_text()).get("progress")
        except (OSError, ValueError):
            continue
        if not progress:
            continue
        if bar is None:
            bar = tqdm(total=progress["total"], initial=0, desc="requests", unit="req")
        if progress["completed"] != bar.n:
            bar.update(progress["completed"] - bar.n)
    if bar is not None:
        bar.close()


def run_sweep_notebook(
    parameter_file: str | Path | None,
    overrides: dict[str, Any] | None = None,
    fresh: bool = False,
    progress: bool = True,
) -> Path:
    """Execute ``notebooks/sweep.ipynb`` with papermill for a parameter file.

    Unknown parameter names are refused before any kernel starts (papermill
    itself only warns), values are validated, and the executed notebook is
    saved in the run directory.

    Args:
        parameter_file: YAML file of sweep parameters (``params/NAME.yaml``).
        overrides: Values that replace those of the file.
        fresh: Delete earlier results of the same parameters first.
        progress: Show a progress bar over the measured requests.

    Returns:
        The run directory.

    Raises:
        ParameterError: unknown or invalid parameters.
        NotebookFailed: the notebook raised.
    """
    import shutil

    from benchlib.records import RunDirectory
    from benchlib.config import SweepConfig as SweepParams

    notebook = _notebook("sweep.ipynb")
    values = load_parameter_file(parameter_file) if parameter_file else {}
    values.update(overrides or {})
    valid = notebook_parameter_names(notebook)
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise ParameterError(
            f"Unknown sweep parameter(s) {', '.join(unknown)} in {parameter_file}; valid parameters: {', '.join(valid)}."
        )
    values["output_dir"] = str(Path(values.get("output_dir", "data/runs")).resolve())
    if isinstance(values.get("price_files"), list):
        values["price_files"] = [str(Path(p).resolve()) if isinstance(p, str) else p for p in values["price_files"]]
    params = SweepParams.from_mapping(values)
    store = RunDirectory(params.run_dir())
    if fresh and store.path.exists():
        shutil.rmtree(store.path)
    if store.effective_status() == "complete":
        from benchlib.sweep import run_sweep

        run_sweep(params, progress=False)  # reuses the run; prices it under the profile asked for now
        return store.path
    store.path.mkdir(parents=True, exist_ok=True)
    print(f"Sweep {params.run_id()}: {params.run.platform}, {params.run.runtime}, model {params.run.model}")
    output = store.path / "sweep.ipynb"
    failure: list[BaseException] = []

    def work() -> None:
        try:
            _execute(notebook, output, values)
        except BaseException as exc:  # handed to the main thread
            failure.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    if progress:
        _watch_progress(store.run_file, worker)
    worker.join()
    if failure:
        raise failure[0]
    print(f"Run directory: {store.path}  (run.json, requests.parquet, sweep.ipynb)")
    return store.path


def run_report_notebook(
    runs_dir: str | Path,
    figures_dir: str | Path,
    reference: str | Path,
    output_dir: str | Path,
    price_files: list[str] | None = None,
) -> list[Path]:
    """Execute ``analysis.ipynb`` and ``cost_model.ipynb``: figures and summary tables from every run.

    Args:
        runs_dir: Folder of run directories.
        figures_dir: Where figures and tables go.
        reference: The published reference CSV.
        output_dir: Where the executed notebooks go.
        price_files: Your price files for the cost model.

    Returns:
        The files written under ``figures_dir``.
    """
    figures_dir = Path(figures_dir).resolve()
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    common = {
        "runs_dir": str(Path(runs_dir).resolve()),
        "figures_dir": str(figures_dir),
        "reference_csv": str(Path(reference).resolve()),
    }
    started = time.time()
    _execute(_notebook("analysis.ipynb"), output_dir / "analysis.ipynb", common)
    prices = [str(Path(p).resolve()) for p in price_files or []]
    _execute(_notebook("cost_model.ipynb"), output_dir / "cost_model.ipynb", {**common, "price_files": prices})
    return sorted(p for p in figures_dir.iterdir() if p.is_file() and p.stat().st_mtime >= started - 1)


def _cmd_sweep(args: argparse.Namespace) -> int:
    run_dir = run_sweep_notebook(args.params, _parse_overrides(args.set), fresh=args.fresh, progress=not args.quiet)
    from benchlib.records import RunDirectory

    record = RunDirectory(run_dir).read_record()
    summary = record.summary if record is not None else None
    if summary is not None and summary.requests and summary.tpot_s is not None:
        tpot = summary.tpot_s
        print(
            f"{summary.requests} requests: per-token latency median {tpot.median * 1e3:.2f} ms "
            f"[95% CI {tpot.ci_low * 1e3:.2f}, {tpot.ci_high * 1e3:.2f}], "
            f"throughput {summary.system_throughput_tps.value:.1f} tok/s"
        )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    written = run_report_notebook(args.runs_dir, args.figures_dir, args.reference, args.output_dir, args.prices)
    print(f"Executed notebooks: {Path(args.output_dir).resolve()}/analysis.ipynb, cost_model.ipynb")
    print("Written:")
    for path in written:
        print(f"  {path}")
    summary = Path(args.figures_dir) / "summary.md"
    if summary.exists():
        print()
        print(summary.read_text())
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from benchlib.models import CATALOGUE, DEFAULT_MODEL, install_models, resolve_model

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
    from benchlib.power import doctor, format_doctor

    statuses = doctor()
    print("Power sources on this machine (ok: available, --: missing and why, ..: offline):")
    print(format_doctor(statuses))
    measured = [s.name for s in statuses if s.available and s.kind == "measured"]
    print()
    if measured:
        print(f"power: auto will use {measured[0]}.")
    else:
        print("power: auto will fall back to the hardware profile's estimate, recorded as estimated (not measured).")
    print()
    _print_native_status()
    return 0


def _print_native_status() -> None:
    from benchlib.native import native_status

    print("llama.cpp's own tools (make native):")
    for name, path, note in native_status():
        print(f"  {'ok' if path else '--'} {name:<13} {path or note}" + (f"  ({note})" if path else ""))


def _cmd_native(args: argparse.Namespace) -> int:
    from benchlib.native import build_native, native_dir

    if args.action == "build":
        print(f"llama.cpp's llama-server and llama-bench in {native_dir()} (built once: about 9 minutes on 2 cores)")
        build = build_native(jobs=args.jobs, force=args.force)
        done = "Already built" if build.reused else f"Built in {build.build_s:.0f} s"
        print(f"{done} with: {' '.join(build.cmake_options)}")
    _print_native_status()
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from benchlib.runtimes.onnx.conversion import DEFAULT_PRECISION, convert

    converted = [convert(args.model, p, args.provider, force=args.force) for p in args.precision or [DEFAULT_PRECISION]]
    for item in converted:
        how = "cached" if item.reused else f"converted in {item.convert_s:.1f} s"
        print(f"{item.precision} for {item.provider}: {item.path}  ({item.size_bytes / 1e6:.0f} MB, {how})")
    if args.check:
        from benchlib.runtimes.onnx.quality import quality_check
        from benchlib.records import atomic_write_json

        report = quality_check(args.model, [c.precision for c in converted], args.provider, output_tokens=args.check_tokens)
        print()
        print(report.to_markdown())
        if args.check_output:
            atomic_write_json(args.check_output, report.to_dict())
            print(f"Saved {args.check_output}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from benchlib.bench import run_benchmarks

    run_benchmarks(args.output_dir, args.only or None)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchlib", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    sweep = commands.add_parser("sweep", help="run the sweep notebook for a parameter file (papermill)")
    sweep.add_argument("params", help="YAML parameter file, e.g. params/local-cpu.yaml")
    sweep.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override one parameter")
    sweep.add_argument("--fresh", action="store_true", help="discard earlier results of these parameters")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=_cmd_sweep)

    report = commands.add_parser("report", help="run the analysis notebook: figures and summary table")
    report.add_argument("--runs-dir", default="data/runs")
    report.add_argument("--figures-dir", default="figures")
    report.add_argument("--reference", default=str(repo_root() / "data" / "reference" / "article-2026-01.csv"))
    report.add_argument("--output-dir", default="data/report", help="where the executed notebooks go")
    report.add_argument("--prices", action="append", default=[], metavar="FILE", help="your price file (repeatable)")
    report.set_defaults(func=_cmd_report)

    models = commands.add_parser("models", help="list, install or inspect models")
    models.add_argument("action", nargs="?", default="list", choices=["list", "install", "show"])
    models.add_argument("names", nargs="*", help="catalogue names (or GGUF paths for show)")
    models.set_defaults(func=_cmd_models)

    doctor = commands.add_parser("doctor", help="which power sources this machine has, and why not")
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
    bench.add_argument("--output-dir", default="data/bench")
    bench.add_argument("--only", action="append", default=[], metavar="NAME", help="run only this benchmark (repeatable)")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``benchlib`` command."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except BenchlibError as exc:
        print(f"benchlib: error: {exc}", file=sys.stderr)
        return 2
    except NotebookFailed as exc:
        print(f"benchlib: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
