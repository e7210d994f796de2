"""The lines ``benchlib sweep`` prints for the richer workloads: by cell, by turn, shared prefix, lateness, rate search,
energy per phase. Every number comes with its interval and says it was measured."""

from __future__ import annotations

from typing import Any

__all__ = ["workload_lines"]


def _interval(stats: dict[str, Any], scale: float = 1.0, digits: str = ".0f") -> str:
    median, low, high = stats.get("median"), stats.get("ci_low"), stats.get("ci_high")
    if median is None:
        return "not known"
    if low is None or high is None or low != low or high != high:  # NaN: too few values for an interval
        return f"{median * scale:{digits}} (no interval: too few requests)"
    return f"{median * scale:{digits}} [95% CI {low * scale:{digits}}, {high * scale:{digits}}]"


def _cells(summary: dict[str, Any]) -> list[str]:
    lines = []
    for cell in summary.get("by_cell") or []:
        lines.append(f"  {cell.get('step') or cell['cell']} (depth {cell.get('context_depth') or 0}): prefill "
                     f"{_interval(cell.get('prefill_tps') or {})} tok/s, decode "
                     f"{_interval(cell.get('decode_tps') or {})} tok/s, TTFT "
                     f"{_interval(cell.get('ttft_s') or {}, 1e3)} ms (measured)")  # fmt: skip
    return (["per cell (the line above pools the cells):"] + lines) if lines else []


def _turns(summary: dict[str, Any]) -> list[str]:
    lines = [
        f"  turn {turn['turn'] + 1}: history {turn.get('history_tokens_median', 0):.0f} tokens, "
        f"{turn.get('cached_prompt_tokens_median', float('nan')):.0f} served from the cache; TTFT "
        f"{_interval(turn.get('ttft_s') or {}, 1e3)} ms (measured)"
        for turn in summary.get("by_turn") or []
    ]
    return (["by conversation turn:"] + lines) if lines else []


def _prefix(summary: dict[str, Any]) -> list[str]:
    prefix = summary.get("shared_prefix")
    if not prefix:
        return []
    intended = f"shared prefix of {prefix['prefix_tokens']} tokens: intended hit rate {prefix['intended_hit_rate']:.0%}"
    if prefix.get("observed_hit_rate") is None:
        return [f"{intended}; observed: not known ({prefix.get('note')})"]
    low, high = prefix["observed_hit_rate_ci"]
    return [f"{intended}, observed {prefix['observed_hit_rate']:.0%} [95% CI {low:.0%}, {high:.0%}] "
            f"({prefix['hit_rule']})"]  # fmt: skip


def _lateness(summary: dict[str, Any]) -> list[str]:
    late = summary.get("lateness_s")
    if not late:
        return []
    return [f"sent behind schedule: median {_interval(late, 1e3, '.1f')} ms, p95 {late['p95'] * 1e3:.1f} ms, "
            f"max {late['max'] * 1e3:.1f} ms; {late['late_share']:.0%} {late['late_rule']}"]  # fmt: skip


def _search(search: dict[str, Any] | None) -> list[str]:
    if not search:
        return []
    steps = search.get("steps") or []
    rate = search.get("sustainable_rate_rps")
    head = (f"highest sustainable rate: {rate:.3g} req/s (measured)" if rate is not None
            else "highest sustainable rate: none of the rates tried met the targets")  # fmt: skip
    interval = search.get("interval_rps")
    bracket = f"; the threshold lies between {interval[0]:.3g} and {interval[1]:.3g} req/s" if interval else ""
    lines = [f"{head}{bracket}; {len(steps)} steps, stopped: {search.get('stopped_because')}; {search.get('rule')}"]
    return lines + ([f"  caution: {search['note']}"] if search.get("note") else [])


def _phases(summary: dict[str, Any]) -> list[str]:
    phases = summary.get("energy_by_phase")
    if not phases:
        return []
    if not phases.get("separable"):
        return [f"energy per phase: not separable: {phases.get('reason')}"]

    def joules(value: float, interval: list[float] | None) -> str:
        return f"{value:.3g} J/token" + (f" [95% CI {interval[0]:.3g}, {interval[1]:.3g}]" if interval else "")

    return [f"energy per phase (measured): prefill {joules(phases['j_per_prompt_token'], phases.get('j_per_prompt_token_interval'))}"
            f" per prompt token, decode {joules(phases['j_per_output_token'], phases.get('j_per_output_token_interval'))}"
            " per output token"]  # fmt: skip


def workload_lines(summary: dict[str, Any], rate_search: dict[str, Any] | None = None) -> list[str]:
    """What the run's summary says about its workload, one line per statistic (none for a plain run)."""
    return [*_cells(summary), *_turns(summary), *_prefix(summary), *_lateness(summary), *_search(rate_search),
            *_phases(summary)]  # fmt: skip
