"""Run benchlib's notebooks with papermill: the sweep notebook for a parameter file, the report notebooks.

Unknown parameter names are refused before any kernel starts (papermill itself
only warns), and a notebook that raises becomes one :class:`NotebookFailed`
naming the cell and the executed notebook to open. :func:`run_sweep_repeats`
runs the ``repeats`` of a sweep one after another, each its own kernel
process (so its own model load) and its own run directory.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from benchlib.config import SweepConfig
from benchlib.cost import load_prices
from benchlib.ctrl_c_forwarding import forward_ctrl_c
from benchlib.errors import BenchlibError, ParameterError, SweepInterrupted
from benchlib.notebook_execution import NotebookFailed, NotebookNotWritten, execute_notebook
from benchlib.paths import RUNS_DEFAULT, check_output_folder, notebooks_dir, params_dir, repo_root
from benchlib.records import OutputNotWritable, RunDirectory, RunStatus, output_not_writable
from benchlib.records.disk_reserve import disk_reserve
from benchlib.secrets import credentials_to_environment
from benchlib.sweep import prepare_run_directory, run_sweep
from benchlib.sweep.live_metrics import check_metrics_port
from benchlib.sweep.preflight import preflight
from benchlib.sweep.run_record import settle_stopped_run

__all__ = [
    "load_parameter_file",
    "notebook_parameter_names",
    "run_report_notebook",
    "run_sweep_notebook",
    "run_sweep_repeats",
]

RUN_OPTIONS = ("metrics_port", "metrics_bind", "repeat_index")
"""How a sweep runs, handed to the sweep notebook beside its parameters but not in its parameters cell: they
are no sweep parameters (not in a parameter file); the notebook passes them to run_sweep (``repeat_index``
picks the repeat, :meth:`~benchlib.config.SweepConfig.for_repeat`)."""


class _RunOptionsAreKnown(logging.Filter):
    """Silence papermill's "Passed unknown parameter" for :data:`RUN_OPTIONS` (unknown names are refused before)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(record.getMessage() == f"Passed unknown parameter: {name}" for name in RUN_OPTIONS)


logging.getLogger("papermill").addFilter(_RunOptionsAreKnown())


def _notebook(name: str) -> Path:
    path = notebooks_dir() / name
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
        profiles = sorted(p.stem for p in params_dir().glob("*.yaml"))
        raise ParameterError(f"Parameter file {path} does not exist; shipped profiles: {', '.join(profiles)}.")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParameterError(f"Parameter file {path} is not valid YAML: {exc}") from exc
    if values is None:
        print(f"Note: {path} sets no parameter; every parameter takes its default (see params/local-cpu.yaml).")
        return {}
    if not isinstance(values, dict):
        raise ParameterError(f"Parameter file {path} must be a mapping of name: value, got {type(values).__name__}.")
    return values


def notebook_parameter_names(notebook: Path) -> list[str]:
    """Names in the notebook's cell tagged ``parameters``."""
    import papermill

    return list(papermill.inspect_notebook(str(notebook)).keys())


def _execute(notebook: Path, output: Path, parameters: dict[str, Any]) -> None:
    """Run a notebook with papermill in the repository (:func:`~benchlib.notebook_execution.execute_notebook`)."""
    execute_notebook(notebook, output, parameters, cwd=repo_root())


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


def _resume_hint(parameter_file: str | Path | None, overrides: dict[str, Any] | None) -> str:
    """How to resume: the same command again (without --fresh)."""
    import json
    import shlex

    pairs = ((name, value if isinstance(value, str) else json.dumps(value)) for name, value in (overrides or {}).items())
    sets = " ".join(f"--set {shlex.quote(f'{name}={text}')}" for name, text in pairs)
    command = " ".join(part for part in ("benchlib sweep", str(parameter_file or ""), sets) if part)
    return f"Completed requests are kept; run the same command to resume: {command}"


def _run_sweep_kernel(notebook: Path, store, values: dict[str, Any], progress: bool, resume_hint: str) -> None:
    """Execute the sweep notebook into the run directory, Ctrl-C interrupting the kernel's sweep.

    A ``run.json`` the kernel left ``running`` (it could not write how it
    stopped, or died) records the stop here, in room the run directory held
    for it (:mod:`benchlib.records.disk_reserve`).

    Raises:
        SweepInterrupted: the user pressed Ctrl-C (the run is recorded as interrupted).
        NotebookFailed: the notebook raised, or the run directory could not be written (disk full).
    """
    output = store.path / "sweep.ipynb"
    failure: list[BaseException] = []

    def work() -> None:
        try:
            _execute(notebook, output, values)
        except BaseException as exc:  # handed to the main thread
            failure.append(exc)

    with disk_reserve(store.path), forward_ctrl_c(resume_hint) as pressed:  # room to record how it ended
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        if progress:
            _watch_progress(store.run_file, worker)
        while worker.is_alive():
            worker.join(timeout=0.2)
    interrupted = pressed.is_set() or bool(failure and "KeyboardInterrupt" in str(failure[0]))
    if not failure and not interrupted:
        return
    error = KeyboardInterrupt() if interrupted else failure[0]
    if isinstance(error, NotebookNotWritten):
        if store.effective_status() == RunStatus.COMPLETE:  # the measurement is whole; only the notebook is missing
            print(f"Warning: {error}", file=sys.stderr)
            return
        error = output_not_writable(store.path, error.os_error)
    unsettled = settle_stopped_run(store, error)
    if unsettled:
        print(f"Warning: {store.run_file} could not record how the sweep stopped ({unsettled}); `benchlib runs` "
              "lists it as interrupted (process gone).", file=sys.stderr)  # fmt: skip
    if interrupted:
        raise SweepInterrupted(f"Sweep interrupted; its run is marked interrupted in {store.run_file}. {resume_hint}")
    if isinstance(error, OutputNotWritable):
        raise NotebookFailed(f"{error} The executed sweep.ipynb is not kept.")
    raise error


def _sweep_values(notebook: Path, parameter_file: str | Path | None, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The parameter file's values with the overrides, names checked against the notebook, paths made absolute.

    Raises:
        ParameterError: a missing or invalid file, or an unknown name (the message lists the valid ones).
    """
    values = load_parameter_file(parameter_file) if parameter_file else {}
    values.update(overrides or {})
    valid = notebook_parameter_names(notebook)
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise ParameterError(
            f"Unknown sweep parameter(s) {', '.join(unknown)} in {parameter_file}; valid parameters: {', '.join(valid)}."
        )
    credentials_to_environment(values)  # a URL's password goes to the kernel's environment, never to the notebook
    output_dir = values.get("output_dir", RUNS_DEFAULT)
    if not isinstance(output_dir, str) or not output_dir.strip():
        raise ParameterError(f"Parameter output_dir must be a folder path (text), got {output_dir!r}; e.g. "
                             "output_dir: data/runs.")  # fmt: skip
    values["output_dir"] = str(Path(output_dir).resolve())
    if isinstance(values.get("price_files"), list):
        values["price_files"] = [str(Path(p).resolve()) if isinstance(p, str) else p for p in values["price_files"]]
    return values


def run_sweep_notebook(
    parameter_file: str | Path | None,
    overrides: dict[str, Any] | None = None,
    fresh: bool = False,
    progress: bool = True,
    metrics_port: int | None = None,
    metrics_bind: str = "127.0.0.1",
    repeat_index: int = 1,
) -> Path:
    """Execute ``notebooks/sweep.ipynb`` with papermill for a parameter file: one repeat of the sweep.

    Unknown parameter names are refused before any kernel starts (papermill
    itself only warns), values are validated, and the executed notebook is
    saved in the run directory. :func:`run_sweep_repeats` runs every repeat.

    Args:
        parameter_file: YAML file of sweep parameters (``params/NAME.yaml``).
        overrides: Values that replace those of the file.
        fresh: Delete earlier results of the same parameters first.
        progress: Show a progress bar over the measured requests.
        metrics_port: Serve the sweep's live progress as Prometheus metrics on
            this port while it runs (:mod:`benchlib.sweep.live_metrics`);
            ``None`` for none. Not a sweep parameter: the run id stays the same.
        metrics_bind: Address the metrics server listens on (loopback unless given).
        repeat_index: Which repeat of the sweep's condition to run, 1 to ``repeats``
            (repeat 1's run id is the condition id; :mod:`benchlib.records.repeats`).

    Returns:
        The run directory.

    Raises:
        ParameterError: unknown or invalid parameters, a repeat index outside
            1 .. ``repeats``, or a metrics port in use.
        NotebookFailed: the notebook raised.
    """
    notebook = _notebook("sweep.ipynb")
    values = _sweep_values(notebook, parameter_file, overrides)
    config = SweepConfig.from_mapping(values).for_repeat(repeat_index)
    if not fresh and RunDirectory(config.run_dir()).effective_status() == RunStatus.COMPLETE:
        run_sweep(config, progress=False)  # reuses the run; prices it under the profile asked for now
        return config.run_dir()
    if metrics_port is not None:  # a port in use is refused before the kernel starts and the model loads
        metrics_port = check_metrics_port(metrics_port, metrics_bind)  # 0: a port free now
    preflight(config, fresh)  # the model, the server, the power source: refused here, nothing written yet
    store = prepare_run_directory(config, fresh)
    store.path.mkdir(parents=True, exist_ok=True)
    print(f"Sweep {config.run_id()}: {config.run.platform}, {config.run.runtime}, model {config.run.model}")
    if repeat_index != 1:
        values["repeat_index"] = repeat_index
    if metrics_port is not None:
        values.update(metrics_port=metrics_port, metrics_bind=metrics_bind)
        host = f"[{metrics_bind}]" if ":" in metrics_bind else metrics_bind
        print(f"Live sweep metrics while it runs: http://{host}:{metrics_port}/metrics")
    _run_sweep_kernel(notebook, store, values, progress, _resume_hint(parameter_file, overrides))
    print(f"Run directory: {store.path}  (run.json, requests.parquet, sweep.ipynb)")
    return store.path


def run_sweep_repeats(
    parameter_file: str | Path | None,
    overrides: dict[str, Any] | None = None,
    repeats: Any = None,
    fresh: bool = False,
    progress: bool = True,
    metrics_port: int | None = None,
    metrics_bind: str = "127.0.0.1",
    run_one: Callable[..., Path] = run_sweep_notebook,
) -> list[Path]:
    """Run every repeat of a sweep, one after another, each through :func:`run_sweep_notebook`.

    Each repeat is its own kernel process (its own model load) and its own
    run directory; they share a condition id (:mod:`benchlib.records.repeats`).
    A complete repeat is reused ("already complete"), an interrupted one
    resumes. The first repeat that fails stops the sweep: the repeats
    completed before it stay on disk, and the same command resumes it.

    Args:
        parameter_file: YAML file of sweep parameters (``params/NAME.yaml``).
        overrides: Values that replace those of the file.
        repeats: How many repeats (``--repeat N``); ``None`` for the ``repeats``
            parameter. Validated like it: a whole number from 1 to
            :data:`~benchlib.records.REPEATS_MAX`.
        fresh: Delete each repeat's earlier results first.
        progress: Show a progress bar over each repeat's measured requests.
        metrics_port: As for :func:`run_sweep_notebook` (checked again for each repeat).
        metrics_bind: As for :func:`run_sweep_notebook`.
        run_one: What runs one repeat (:func:`run_sweep_notebook`; tests run the engine in process).

    Returns:
        The run directory of each repeat, in repeat order.

    Raises:
        ParameterError: unknown or invalid parameters (a bad ``repeats`` among them), before anything runs.
        NotebookFailed: a repeat's notebook raised (the repeats before it are kept).
        SweepInterrupted: the user pressed Ctrl-C (the repeats before it are kept).
    """
    overrides = dict(overrides or {})
    if repeats is not None:
        overrides["repeats"] = repeats
    config = SweepConfig.from_mapping(_sweep_values(_notebook("sweep.ipynb"), parameter_file, overrides))
    count = config.run.repeats
    run_dirs: list[Path] = []
    for index in range(1, count + 1):
        if count > 1:
            print(f"repeat {index}/{count}: run {config.for_repeat(index).run_id()} of condition {config.condition_id()}")
        try:
            run_dirs.append(run_one(parameter_file, overrides, fresh=fresh, progress=progress, metrics_port=metrics_port,
                                    metrics_bind=metrics_bind, repeat_index=index))  # fmt: skip
        except BaseException:
            if count > 1:
                kept = {1: "no repeat was complete before it", 2: "repeat 1 is complete and kept"}.get(
                    index, f"repeats 1-{index - 1} are complete and kept")
                print(f"repeat {index}/{count} stopped; {kept}. Run the same command again to resume repeat {index} "
                      f"and measure the rest.")  # fmt: skip
            raise
    return run_dirs


def _check_decision_file(decision_file: str | Path | None, price_files: list[str] | None) -> None:
    """Validate the decision file (default: the shipped one), the price files and the profiles it names.

    Raises:
        ParameterError: naming the file and what to fix.
    """
    # heavy: benchlib.decision loads statsmodels (through benchlib.analysis); only `benchlib report` needs it
    from benchlib.decision import FLAT_PARAMS, load_decision_inputs

    selection = load_decision_inputs(decision_file or FLAT_PARAMS).selection
    book = load_prices(*(price_files or selection.price_files))
    for candidate, profile in selection.price_profiles.items():
        try:
            book[profile]
        except ParameterError as exc:
            raise ParameterError(f"{decision_file}: price_profiles: candidate '{candidate}': {exc}") from None


def run_report_notebook(
    runs_dir: str | Path,
    figures_dir: str | Path,
    reference: str | Path,
    output_dir: str | Path,
    price_files: list[str] | None = None,
    decision_file: str | Path | None = None,
) -> list[Path]:
    """Execute ``analysis.ipynb``, ``cost_model.ipynb`` and ``decision.ipynb``: figures, tables and the decision.

    Args:
        runs_dir: Folder of run directories.
        figures_dir: Where figures and tables go.
        reference: The published reference CSV.
        output_dir: Where the executed notebooks go.
        price_files: Your price files for the cost model and the decision.
        decision_file: Targets, workload and constraints of the decision
            (default: ``params/decision/decision.yaml``).

    Raises:
        ParameterError: a decision or price file that is missing or invalid (before any notebook runs).

    Returns:
        The files written under ``figures_dir``.
    """
    _check_decision_file(decision_file, price_files)  # a bad decision or price file: refused before any notebook
    figures_dir = Path(figures_dir).resolve()
    output_dir = Path(output_dir).resolve()
    for folder in (output_dir, figures_dir):  # refused before any notebook runs
        check_output_folder(folder)
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
    decision = {**common, "price_files": prices}
    if decision_file is not None:
        decision["decision_file"] = str(Path(decision_file).resolve())
    _execute(_notebook("decision.ipynb"), output_dir / "decision.ipynb", decision)
    return sorted(p for p in figures_dir.iterdir() if p.is_file() and p.stat().st_mtime >= started - 1)
