"""A small SYNTHETIC example trace: made up by a seeded random generator, not recorded from any service.

``data/traces/example-synthetic.csv`` is this module's output with the default seed (0)::

    python -m benchlib.traces.example --out data/traces/example-synthetic.csv

Arrivals are a Poisson process whose rate alternates between calm periods (:data:`CALM_RATE_RPS` for
:data:`CALM_PERIOD_S`) and bursts (:data:`BURST_RATE_RPS` for :data:`BURST_PERIOD_S`): about 1
request/s on average, :data:`EXAMPLE_REQUESTS` requests over about two minutes. Prompt and output
lengths are lognormal, rounded and clipped to :data:`PROMPT_TOKENS_RANGE` and
:data:`OUTPUT_TOKENS_RANGE`, small enough for a CPU that decodes ~100 tokens/s.

The file uses BurstGPT's column layout (``Timestamp`` in seconds, ``Model``, ``Request tokens``,
``Response tokens``, ``Total tokens``, ``Log Type``; https://github.com/HPMLL/BurstGPT) with ``Model``
``synthetic`` and ``Log Type`` ``Conversation log``, so reading it exercises layout detection.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path
from typing import Sequence

import numpy as np

from benchlib.traces.reader import LAYOUTS

__all__ = ["EXAMPLE_SEED", "example_csv_text", "example_requests", "main", "write_example"]

EXAMPLE_SEED = 0
"""The seed of the shipped ``data/traces/example-synthetic.csv``."""

EXAMPLE_REQUESTS = 120
"""Requests in the example."""

CALM_RATE_RPS, CALM_PERIOD_S = 0.6, 20.0
"""Arrival rate and length of a calm period."""

BURST_RATE_RPS, BURST_PERIOD_S = 3.0, 5.0
"""Arrival rate and length of a burst, which follows each calm period."""

PROMPT_TOKENS_RANGE = (16, 400)
"""Smallest and largest prompt, tokens."""

OUTPUT_TOKENS_RANGE = (8, 128)
"""Smallest and largest output, tokens."""

_PROMPT_MEDIAN_TOKENS, _PROMPT_SIGMA = 90.0, 0.8
_OUTPUT_MEDIAN_TOKENS, _OUTPUT_SIGMA = 40.0, 0.7
_FIRST_PERIOD_START_S = 3.0
_BURSTGPT = LAYOUTS["burstgpt"]
_HEADER = (_BURSTGPT["arrival_s"], "Model", _BURSTGPT["prompt_tokens"], _BURSTGPT["output_tokens"],
           "Total tokens", "Log Type")  # fmt: skip


def _arrivals_s(rng: np.random.Generator, n_requests: int) -> np.ndarray:
    """Arrival times of a Poisson process whose rate switches between calm and burst periods.

    The process is memoryless, so each period draws its gaps afresh from the period's start.
    """
    periods = [(CALM_RATE_RPS, CALM_PERIOD_S), (BURST_RATE_RPS, BURST_PERIOD_S)]
    arrivals: list[float] = []
    start_s, period = _FIRST_PERIOD_START_S, 0
    while len(arrivals) < n_requests:
        rate_rps, length_s = periods[period % 2]
        t_s = start_s + rng.exponential(1.0 / rate_rps)
        while t_s < start_s + length_s and len(arrivals) < n_requests:
            arrivals.append(t_s)
            t_s += rng.exponential(1.0 / rate_rps)
        start_s, period = start_s + length_s, period + 1
    return np.asarray(arrivals)


def _lengths(rng: np.random.Generator, n: int, median: float, sigma: float, bounds: tuple[int, int]) -> np.ndarray:
    """Lognormal token counts, rounded and clipped to ``bounds``."""
    return np.clip(np.rint(rng.lognormal(np.log(median), sigma, size=n)), *bounds).astype(np.int64)


def example_requests(seed: int = EXAMPLE_SEED, n_requests: int = EXAMPLE_REQUESTS) -> list[tuple[float, int, int]]:
    """The synthetic requests: (arrival time in s, prompt tokens, output tokens), in arrival order.

    Args:
        seed: Seed of numpy's random generator; the same seed gives the same requests.
        n_requests: How many requests.
    """
    rng = np.random.default_rng(seed)
    arrivals_s = _arrivals_s(rng, n_requests)
    prompts = _lengths(rng, n_requests, _PROMPT_MEDIAN_TOKENS, _PROMPT_SIGMA, PROMPT_TOKENS_RANGE)
    outputs = _lengths(rng, n_requests, _OUTPUT_MEDIAN_TOKENS, _OUTPUT_SIGMA, OUTPUT_TOKENS_RANGE)
    return [(float(t), int(p), int(o)) for t, p, o in zip(arrivals_s, prompts, outputs)]


def example_csv_text(seed: int = EXAMPLE_SEED, n_requests: int = EXAMPLE_REQUESTS) -> str:
    """The example as CSV text in BurstGPT's layout (times in seconds with 3 decimals, ``\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_HEADER)
    for arrival_s, prompt, output in example_requests(seed, n_requests):
        writer.writerow((f"{arrival_s:.3f}", "synthetic", prompt, output, prompt + output, "Conversation log"))
    return out.getvalue()


def write_example(path: str | Path, seed: int = EXAMPLE_SEED, n_requests: int = EXAMPLE_REQUESTS) -> Path:
    """Write the example CSV (creating its folder) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write(example_csv_text(seed, n_requests))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchlib.traces.example --out FILE [--seed N] [--requests N]``."""
    parser = argparse.ArgumentParser(description="Write a small SYNTHETIC example trace (BurstGPT's CSV layout).")
    parser.add_argument("--out", required=True, help="CSV file to write, e.g. data/traces/example-synthetic.csv")
    parser.add_argument("--seed", type=int, default=EXAMPLE_SEED, help=f"random seed (default {EXAMPLE_SEED})")
    parser.add_argument("--requests", type=int, default=EXAMPLE_REQUESTS,
                        help=f"number of requests (default {EXAMPLE_REQUESTS})")  # fmt: skip
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    path = write_example(args.out, args.seed, args.requests)
    print(f"Wrote {args.requests} synthetic requests (seed {args.seed}) to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
