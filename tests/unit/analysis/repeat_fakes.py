"""Hand-made repeats of one condition: real StoredRun objects whose runs differ more than their requests do."""

from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.records import StoredRun


def repeat_run(run_id: str, condition_id: str, repeat: int, tpot_s: float, seed: int) -> StoredRun:
    """A one-at-a-time run of 20 requests (4 prompts x 5), 10 tokens each, TPOT near ``tpot_s``."""
    rng = np.random.default_rng(seed)
    tpot = tpot_s * (1 + 0.02 * rng.standard_normal(20))
    e2e = 0.05 + 9 * tpot
    sent = np.cumsum(np.r_[0.0, e2e[:-1] + 0.01])
    rows = pd.DataFrame({
        "request_id": [f"rep{r + 1:03d}-p{p:02d}" for r in range(5) for p in range(4)],
        "prompt_index": [p for _ in range(5) for p in range(4)], "attempt": 1, "output_tokens": 10, "error": None,
        "sent_unix_s": sent, "last_token_unix_s": sent + e2e, "ttft_s": 0.05, "tpot_s": tpot, "e2e_s": e2e,
        "decode_tps": 1 / tpot, "itl_s": [list(t * (1 + 0.01 * rng.standard_normal(9))) for t in tpot],
    })  # fmt: skip
    meta = {"schema_version": 1, "run_id": run_id, "status": "complete", "parameters": {"platform": "box"},
            "model": {"name": "tiny"}, "condition_id": condition_id, "repeat_index": repeat}  # fmt: skip
    return StoredRun(Path("/runs") / run_id, meta, "complete", rows)
