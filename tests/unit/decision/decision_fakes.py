"""Hand-made runs and price files for the decision's unit tests.

The runs are real :class:`~benchlib.records.StoredRun` objects (``run.json`` as a dict, the
request rows as a frame), not mocks: the decision reads them as it reads runs from disk. By
default they served the decision's default model (``llama-2-7b-q4_0``: Llama-2-7B at Q4_0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.cost import load_prices, profile_record
from benchlib.records import StoredRun

TOKENS = 10
"""Output tokens of every hand-made request (give the decision ``output_tokens=TOKENS``)."""
MODEL = "llama-2-7b-q4_0"
"""The model name the hand-made runs record: ``models.yaml`` ``llama-2-7b`` at ``q4_0``, the decision's default."""
TTFT_S = 0.05


def service_s(tpot_s: float, ttft_s: float = TTFT_S, tokens: int = TOKENS) -> float:
    """Time a request holds its slot: ``ttft + tpot * (tokens - 1)`` (benchlib.decision.serving)."""
    return ttft_s + tpot_s * (tokens - 1)


def step_rows(step: str, tpot_s: float, concurrency: int, requests: int = 8, window_s: float = 2.0,
              ttft_s: float = TTFT_S) -> pd.DataFrame:  # fmt: skip
    """``requests`` rows of one closed-loop step, each TOKENS tokens at ``tpot_s`` after ``ttft_s``.

    Every request has the same latencies, so every quantile is the value given and the
    throughput's bootstrap interval is the value itself.
    """
    e2e = service_s(tpot_s, ttft_s)
    sent = np.linspace(0.0, max(window_s - e2e, 0.0), requests)
    return pd.DataFrame({
        "request_id": [f"{step}-{i}" for i in range(requests)], "step": step, "mode": "closed",
        "concurrency": concurrency, "attempt": 1, "output_tokens": TOKENS, "error": None,
        "sent_unix_s": 1000.0 + sent, "last_token_unix_s": 1000.0 + sent + e2e,
        "ttft_s": ttft_s, "tpot_s": tpot_s, "e2e_s": e2e,
    })  # fmt: skip


def load_step_run(run_id: str, tpot_by_concurrency: dict[int, float], profile=None, platform: str = "box",
                  model: str = MODEL, ttft_s: float = TTFT_S) -> StoredRun:  # fmt: skip
    """A load-step run whose closed-loop step ``c{N}`` has every request at the given per-token latency."""
    frames, steps = [], {}
    for concurrency, tpot_s in tpot_by_concurrency.items():
        step = f"c{concurrency}"
        frames.append(step_rows(step, tpot_s, concurrency, ttft_s=ttft_s))
        steps[step] = {"status": "complete", "attempt": 1, "summary": {"mode": "closed", "concurrency": concurrency}}
    meta = {
        "schema_version": 1, "run_id": run_id, "status": "complete", "parameters": {"platform": platform},
        "model": {"name": model}, "steps": steps, "summary_step": next(iter(steps)),
        "price_profile": profile_record(profile) if profile is not None else None,
    }  # fmt: skip
    return StoredRun(Path("/runs") / run_id, meta, "complete", pd.concat(frames, ignore_index=True))


def sequential_run(run_id: str, profile=None, platform: str = "box", model: str = MODEL) -> StoredRun:
    """Four one-at-a-time requests of TOKENS tokens, sent at 0, 1, 2, 3 s, each 0.8 s long: 40 tokens in 3.8 s."""
    sent = np.arange(4.0)
    requests = pd.DataFrame({
        "request_id": [f"rep001-p0{i}" for i in range(4)], "attempt": 1, "output_tokens": TOKENS, "error": None,
        "sent_unix_s": sent, "last_token_unix_s": sent + 0.8, "ttft_s": 0.08, "tpot_s": 0.08, "e2e_s": 0.8,
        "decode_tps": 12.5, "runtime_decode_tps": None, "itl_s": [[0.08] * 9] * 4,
    })  # fmt: skip
    meta = {
        "schema_version": 1, "run_id": run_id, "status": "complete", "parameters": {"platform": platform},
        "model": {"name": model}, "price_profile": profile_record(profile) if profile is not None else None,
    }  # fmt: skip
    return StoredRun(Path("/runs") / run_id, meta, "complete", requests)


PRICES = """\
schema_version: 1
profiles:
  box-a: {kind: owned, hardware_usd: 876, amortization_h: 8760, power_w: 0, electricity_usd_per_kwh: 0.15}
  cloud-b: {kind: rented, price_per_hour_usd: 2.0}
  cloud-c: {kind: rented, price_per_hour_usd: 0.2}
  pi5-idle3: {extends: pi5, idle_power_w: 3}
"""


def price_book(tmp_path: Path):
    """The shipped profiles plus box-a ($0.10/h, no power), cloud-b ($2/h), cloud-c ($0.20/h), pi5 idling at 3 W."""
    path = tmp_path / "prices.yaml"
    path.write_text(PRICES, encoding="utf-8")
    return load_prices(path), path


def three_runs(book) -> list[StoredRun]:
    """Three platforms measured serving the default model, each at one closed-loop step (TOKENS tokens a request).

    * ``box-a`` (Box A, owned $0.10/h): 1 slot, TPOT 50 ms -> 0.5 s a request, 2 requests/s a device.
    * ``cloud-b`` (Cloud B, rented $2/h): 10 slots, TPOT 50 ms -> 0.5 s a request, 20 requests/s an instance.
    * ``cloud-c`` (Cloud C, rented $0.20/h): 100 slots, TPOT 150 ms -> 1.4 s a request, 71.4 requests/s.
    """
    return [
        load_step_run("box-a", {1: 0.050}, book["box-a"], platform="Box A"),
        load_step_run("cloud-b", {10: 0.050}, book["cloud-b"], platform="Cloud B"),
        load_step_run("cloud-c", {100: 0.150}, book["cloud-c"], platform="Cloud C"),
    ]


HAND_MADE = {"platforms": [], "runs": False, "this_machine": True, "service_level": None, "output_tokens": TOKENS}
"""Decision parameters that leave only the runs passed in: no catalogue platform, no cited service level,
and runs measured "on this machine" (their platforms are in no hardware.yaml) allowed to compete."""
