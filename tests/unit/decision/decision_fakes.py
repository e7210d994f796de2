"""Hand-made runs, reference rows and price files for the decision's unit tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.cost import load_prices, profile_record
from benchlib.records import StoredRun

TOKENS = 10
"""Output tokens of every hand-made request."""


def step_rows(step: str, tpot_s: float, concurrency: int, requests: int = 8, window_s: float = 2.0) -> pd.DataFrame:
    """``requests`` rows of one closed-loop step, each TOKENS tokens at ``tpot_s``, the step ``window_s`` long.

    Every request has the same latencies, so the p95s are the values given and the throughput
    is ``requests * TOKENS / window_s`` tokens per second exactly.
    """
    ttft = 0.05
    e2e = ttft + tpot_s * (TOKENS - 1)
    sent = np.linspace(0.0, window_s - e2e, requests)
    return pd.DataFrame({
        "request_id": [f"{step}-{i}" for i in range(requests)], "step": step, "mode": "closed",
        "concurrency": concurrency, "attempt": 1, "output_tokens": TOKENS, "error": None,
        "sent_unix_s": 1000.0 + sent, "last_token_unix_s": 1000.0 + sent + e2e,
        "ttft_s": ttft, "tpot_s": tpot_s, "e2e_s": e2e,
    })  # fmt: skip


def load_step_run(run_id: str, tpot_by_concurrency: dict[int, float], profile=None, platform: str = "box") -> StoredRun:
    """A load-step run whose closed-loop step ``c{N}`` has every request at the given per-token latency."""
    frames, steps = [], {}
    for concurrency, tpot_s in tpot_by_concurrency.items():
        step = f"c{concurrency}"
        frames.append(step_rows(step, tpot_s, concurrency))
        steps[step] = {"status": "complete", "attempt": 1, "summary": {"mode": "closed", "concurrency": concurrency}}
    meta = {
        "schema_version": 1, "run_id": run_id, "status": "complete", "parameters": {"platform": platform},
        "model": {"name": "tiny"}, "steps": steps, "summary_step": next(iter(steps)),
        "price_profile": profile_record(profile) if profile is not None else None,
    }  # fmt: skip
    return StoredRun(Path("/runs") / run_id, meta, "complete", pd.concat(frames, ignore_index=True))


def sequential_run(run_id: str, profile=None, platform: str = "box") -> StoredRun:
    """Four one-at-a-time requests of TOKENS tokens, sent at 0, 1, 2, 3 s, each 0.8 s long: 40 tokens in 3.8 s."""
    sent = np.arange(4.0)
    requests = pd.DataFrame({
        "request_id": [f"rep001-p0{i}" for i in range(4)], "attempt": 1, "output_tokens": TOKENS, "error": None,
        "sent_unix_s": sent, "last_token_unix_s": sent + 0.8, "ttft_s": 0.08, "tpot_s": 0.08, "e2e_s": 0.8,
        "decode_tps": 12.5, "runtime_decode_tps": None, "itl_s": [[0.08] * 9] * 4,
    })  # fmt: skip
    meta = {
        "schema_version": 1, "run_id": run_id, "status": "complete", "parameters": {"platform": platform},
        "model": {"name": "tiny"}, "price_profile": profile_record(profile) if profile is not None else None,
    }  # fmt: skip
    return StoredRun(Path("/runs") / run_id, meta, "complete", requests)


PRICES = """\
schema_version: 1
profiles:
  box-a: {kind: owned, hardware_usd: 876, amortization_h: 8760, power_w: 0, electricity_usd_per_kwh: 0.15,
          article_platform: Box A}
  cloud-b: {kind: rented, price_per_hour_usd: 2.0, article_platform: Cloud B}
  cloud-c: {kind: rented, price_per_hour_usd: 0.2, article_platform: Cloud C}
  pi5-idle3: {extends: pi5, idle_power_w: 3}
"""


def price_book(tmp_path: Path):
    """The article's profiles plus box-a ($0.10/h, no power), cloud-b ($2/h), cloud-c ($0.20/h), pi5 idling at 3 W."""
    path = tmp_path / "prices.yaml"
    path.write_text(PRICES, encoding="utf-8")
    return load_prices(path), path


def reference(platforms: dict[str, tuple[str, float, float]]) -> pd.DataFrame:
    """Reference rows: platform -> (class, throughput tok/s, per-token latency ms), model size 7B q4."""
    rows = []
    for platform, (platform_class, tps, tpot_ms) in platforms.items():
        for metric, value, unit in (("throughput", tps, "tokens/s"), ("per_token_latency", tpot_ms, "ms")):
            rows.append({"platform": platform, "platform_class": platform_class, "model_size": "7B q4",
                         "metric": metric, "value": value, "unit": unit, "kind": "measured", "source": "test"})  # fmt: skip
    return pd.DataFrame(rows)


THREE = {"Box A": ("edge", 10.0, 50.0), "Cloud B": ("cloud", 100.0, 10.0), "Cloud C": ("cloud", 1000.0, 150.0)}
"""Box A serves 1 req/s of 10 tokens at 50 ms/token; Cloud B 10 req/s at 10 ms; Cloud C 100 req/s at 150 ms."""
