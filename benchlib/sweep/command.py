"""``benchlib sweep``: run the sweep notebook for a parameter file, once per repeat, and print each run's summary.

``--set NAME=VALUE`` overrides one parameter (the value read as YAML);
``--repeat N`` overrides ``repeats``: N independent runs, each in its own
kernel process with its own model load and run directory
(:func:`~benchlib.notebook_runner.run_sweep_repeats`).
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from benchlib.errors import ParameterError
from benchlib.notebook_runner import run_sweep_repeats
from benchlib.records import RunDirectory
from benchlib.sweep.summary_lines import workload_lines

__all__ = ["add_sweep_parser", "parse_overrides", "run_sweep_command"]


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as a mapping, each value read as YAML (``3``, ``[1, 4]``, ``on``).

    Raises:
        ParameterError: a pair without ``=`` or without a name, or a value that is not valid YAML.
    """
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ParameterError(f"--set takes NAME=VALUE, got {pair!r}.")
        try:
            overrides[name.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = str(getattr(exc, "problem", None) or "not valid YAML")
            raise ParameterError(
                f"--set {name.strip()}: the value {text!r} is not valid YAML ({problem}); quote text, and close "
                "brackets: --set 'output_tokens=[64, 128]'."
            ) from None
    return overrides


def _repeat_count(text: str | None) -> Any:
    """``--repeat``'s value: an int when it reads as one, else the text (the ``repeats`` check refuses it)."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _print_summary(run_dir, prefix: str) -> None:
    """One line: requests, per-token latency median with its interval, throughput (when the run has them)."""
    record = RunDirectory(run_dir).read_record()
    summary = record.summary if record is not None else None
    if summary is not None and summary.requests and summary.tpot_s is not None:
        tpot = summary.tpot_s
        print(
            f"{prefix}{summary.requests} requests: per-token latency median {tpot.median * 1e3:.2f} ms "
            f"[95% CI {tpot.ci_low * 1e3:.2f}, {tpot.ci_high * 1e3:.2f}], "
            f"throughput {summary.system_throughput_tps.value:.1f} tok/s ({tpot.scope or 'one run'})"
        )
    if record is not None:
        for line in workload_lines(record.summary.model_dump(), record.rate_search):
            print(f"{prefix}{line}")


def run_sweep_command(args: argparse.Namespace) -> int:
    """Run every repeat of the sweep ``args`` describe; print each run's summary line. Returns the exit status."""
    run_dirs = run_sweep_repeats(args.params, parse_overrides(args.set), repeats=_repeat_count(args.repeat),
                                 fresh=args.fresh, progress=not args.quiet, metrics_port=args.metrics_port,
                                 metrics_bind=args.metrics_bind)  # fmt: skip
    for index, run_dir in enumerate(run_dirs, start=1):
        _print_summary(run_dir, f"repeat {index}/{len(run_dirs)}: " if len(run_dirs) > 1 else "")
    return 0


def add_sweep_parser(commands: Any) -> None:
    """Register ``benchlib sweep`` on the command line's subparsers."""
    sweep = commands.add_parser("sweep", help="run the sweep notebook for a parameter file (papermill)")
    sweep.add_argument("params", help="YAML parameter file, e.g. params/local-cpu.yaml")
    sweep.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override one parameter")
    sweep.add_argument("--repeat", default=None, metavar="N",
                       help="run the sweep N times as independent runs (each its own process, model load and run "
                            "directory, sharing a condition id); overrides the repeats parameter (default 1)")
    sweep.add_argument("--fresh", action="store_true", help="discard earlier results of these parameters")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                       help="serve live progress (requests, tokens/s, step, phase) as Prometheus metrics on this port "
                            "while the sweep runs; see data/grafana/")
    sweep.add_argument("--metrics-bind", default="127.0.0.1", metavar="ADDR",
                       help="address the metrics server listens on (default 127.0.0.1; 0.0.0.0 for every interface)")
    sweep.set_defaults(func=run_sweep_command)
