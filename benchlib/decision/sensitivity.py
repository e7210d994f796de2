"""Sensitivity: how the daily cost of the top candidates moves when one input moves across its range.

Each input of :data:`RANGES` is set to its low and then its high end, every other
input at base, and the top candidates (the cheapest that can be priced, qualifying
ones first) are re-sized and re-priced there with the decision's own functions
(``resize``, ``best_sizing`` at the new peak with the same seed, ``cost_candidate``;
a cost is the cheapest variant). Throughput, power and price vary for
``each candidate alone``: the cheapest at that end is among that candidate at its
end and the others at base ("would the ranking flip if only this one were off?").
Electricity, lifetime, request volume and utilization are assumptions shared by
``all candidates`` and move for all at once. An input that does not apply leaves
the cost unchanged (a zero-width bar): electricity and power where electricity is
not billed (rented with ``include_electricity: false``, hosted), power measured,
lifetime for anything not owned, throughput without an interval. The ranges are
assumptions, stated with reasons in :data:`RANGES`, except throughput (each
candidate's own 95% interval). The cheapest is chosen among the top candidates
that qualify (all when none does); a tie keeps the base order, so it is no flip.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchlib.analysis.figure_style import pyplot, save_figure
from benchlib.decision.candidates import Candidate, resize
from benchlib.decision.inputs import DecisionInputs
from benchlib.decision.load_capacity import best_sizing
from benchlib.decision.recommend import DecisionResult, Verdict
from benchlib.decision.sizing import cost_candidate

__all__ = ["ALL", "COLUMNS", "EACH", "RANGES", "Range", "plot_sensitivity", "sensitivity_table", "write_sensitivity"]

EACH = "each candidate alone"
ALL = "all candidates"
COLUMNS = ("input", "end", "value_shown", "candidate", "qualifies", "applies", "cost_per_day_usd",
           "base_cost_per_day_usd", "cheapest_at_this_end", "base_cheapest", "ranking_flips", "varies",
           "range_shown", "range_basis")  # fmt: skip
_Varied = tuple[str, Candidate | None, DecisionInputs]  # shown, the candidate at this end (None: n/a), its inputs


def _factor(value: float) -> str:
    return f"{value:.3g}x"  # 0.5x, 1.67x


def _with_profile(candidate: Candidate, **fields: float) -> Candidate:
    return dataclasses.replace(candidate, price_profile=dataclasses.replace(candidate.price_profile, **fields))


def _billed(candidate: Candidate) -> bool:
    """True when the candidate pays for electricity (owned, or rented with ``include_electricity``)."""
    profile = candidate.price_profile
    return profile.kind == "owned" or (profile.kind == "rented" and profile.include_electricity)


def _resized(candidate: Candidate, inputs: DecisionInputs) -> Candidate:
    """The candidate sized at ``inputs``' peak rate as :func:`~benchlib.decision.candidates.build_candidates` does."""
    if not candidate.levels:
        return candidate
    targets = inputs.targets
    sizing = best_sizing(list(candidate.levels), inputs.workload.peak_rate_per_s, targets.set_targets(),
                         targets.quantile, attainment=targets.slo_attainment, seed=inputs.workload.seed)  # fmt: skip
    values: dict = {"sizing": sizing}
    if candidate.power_basis == "predicted" and sizing is not None and sizing.level.power_w is not None:
        values["power_w"] = sizing.level.power_w
    return dataclasses.replace(candidate, **values)


def _throughput(candidate: Candidate, inputs: DecisionInputs, end: str) -> _Varied:
    level = candidate.sizing.level if candidate.sizing is not None else None
    if level is None or not (math.isfinite(level.speed_low) and math.isfinite(level.speed_high)):
        return "no interval", None, inputs
    speed = getattr(level, end)
    return _factor(speed), resize(candidate, inputs, speed), inputs


def _power(candidate: Candidate, inputs: DecisionInputs, factor: float) -> _Varied:
    profile = candidate.price_profile
    if not _billed(candidate) or candidate.power_basis == "measured":
        return _factor(factor), None, inputs
    fields = {name: getattr(profile, name) * factor for name in ("power_w", "idle_power_w") if getattr(profile, name)}
    power = candidate.power_w * factor if candidate.power_w is not None else None
    return _factor(factor), dataclasses.replace(_with_profile(candidate, **fields), power_w=power), inputs


_PRICE_FIELDS = {"owned": ("hardware_usd",), "rented": ("price_per_hour_usd",),
                 "hosted": ("usd_per_million_input_tokens", "usd_per_million_output_tokens")}  # fmt: skip


def _price(candidate: Candidate, inputs: DecisionInputs, factor: float) -> _Varied:
    profile = candidate.price_profile
    fields = {name: getattr(profile, name) * factor for name in _PRICE_FIELDS[profile.kind]}
    return _factor(factor), _with_profile(candidate, **fields), inputs


def _electricity(candidate: Candidate, inputs: DecisionInputs, usd_per_kwh: float) -> _Varied:
    varied = _with_profile(candidate, electricity_usd_per_kwh=usd_per_kwh) if _billed(candidate) else None
    return f"${usd_per_kwh:.2f}/kWh", varied, inputs


def _lifetime(candidate: Candidate, inputs: DecisionInputs, factor: float) -> _Varied:
    hours = candidate.price_profile.amortization_h * factor if candidate.price_profile.kind == "owned" else None
    return _factor(factor), _with_profile(candidate, amortization_h=hours) if hours else None, inputs


def _traffic(candidate: Candidate, inputs: DecisionInputs, **workload) -> tuple[Candidate, DecisionInputs]:
    """The candidate re-sized at the peak of ``inputs`` with ``workload`` fields replaced (the seed kept)."""
    varied = inputs.model_copy(update={"workload": inputs.workload.model_copy(update=workload)})
    return _resized(candidate, varied), varied


def _volume(candidate: Candidate, inputs: DecisionInputs, factor: float) -> _Varied:
    return _factor(factor), *_traffic(candidate, inputs, requests_per_day=inputs.workload.requests_per_day * factor)


def _shape(candidate: Candidate, inputs: DecisionInputs, profile: str) -> _Varied:
    if inputs.workload.hourly_profile == profile:
        return profile, candidate, inputs  # the base itself
    return profile, *_traffic(candidate, inputs, hourly_profile=profile)


@dataclass(frozen=True)
class Range:
    """One varied input: its name, what it changes, its ``low`` and ``high`` ends (factors on the base value,
    values, traffic profiles, or the candidate's own interval), the range as ``shown``, the ``basis`` of the
    range in words, its ``scope`` (:data:`EACH` or :data:`ALL`) and the function that sets it on a candidate."""

    name: str
    changes: str
    low: float | str
    high: float | str
    shown: str
    basis: str
    scope: str
    vary: Callable[[Candidate, DecisionInputs, float | str], _Varied] = field(repr=False, compare=False)


RANGES: dict[str, Range] = {r.name: r for r in (
    Range("throughput", "the speed of the candidate's chosen load level; the fleet is re-sized at the peak",
          "speed_low", "speed_high", "own 95% interval", "measured or predicted: the candidate's own 95% "
          "throughput interval (its chosen level's speed_low, speed_high), as in the decision's cost interval",
          EACH, _throughput),
    Range("power", "draw under load and idle (the candidate's and its profile's); costs money only where "
          "electricity is billed", 0.75, 1.25, "0.75x to 1.25x", "assumption: an estimated or predicted draw "
          "may be a quarter off (rated power vs the draw under this load); a measured draw is not varied",
          EACH, _power),
    Range("price", "the list price: per hour (rented), the purchase price (owned), both token prices (hosted)",
          0.5, 1.5, "0.5x to 1.5x", "assumption: spot/reserved discounts (about half the list price) to list "
          "premiums (other regions, scarce hardware)", EACH, _price),
    Range("electricity", "the electricity tariff wherever electricity is billed (owned; rented with "
          "include_electricity)", 0.08, 0.30, "$0.08 to $0.30/kWh", "assumption: typical industrial to "
          "residential tariffs, USD per kWh", ALL, _electricity),
    Range("lifetime", "the hours an owned device's price is spread over (amortization_h)", 0.5, 5 / 3,
          "0.5x to 1.67x", "assumption: hardware kept 18 months to 5 years instead of 3", ALL, _lifetime),
    Range("request volume", "requests per day; every fleet re-sized at the new peak", 0.5, 2.0, "0.5x to 2x",
          "assumption: the day's volume forecast may be off by a factor of two", ALL, _volume),
    Range("utilization", "the traffic shape at the same requests per day, so how busy the fleet is off-peak",
          "flat", "diurnal", "flat vs diurnal", "the day's peak hour at the mean (flat) vs the built-in diurnal "
          "day, whose peak hour is 1.5x the mean: a fleet sized for the peak idles off-peak (owned, always-on) "
          "or shrinks (on-demand)", ALL, _shape),
)}  # fmt: skip
"""Every varied input: what it changes, its ends and why."""


def _at_end(range_: Range, end: str, candidate: Candidate, inputs: DecisionInputs) -> tuple[str, float | None]:
    """(value shown, cost per day at this end, or ``None`` when the input does not apply)."""
    shown, varied, at = range_.vary(candidate, inputs, range_.low if end == "low" else range_.high)
    costs = [costing.cost_per_day_usd for costing in cost_candidate(varied, at)] if varied is not None else None
    return shown, None if costs is None else min(costs, default=math.nan)


def _top(result: DecisionResult, top: int) -> list[Verdict]:
    """The ``top`` cheapest that can be priced: the qualifying ones first (verdicts are in that order)."""
    return [v for v in result.verdicts if v.costings and math.isfinite(v.cost_per_day_usd)][:top]


def _cheapest(costs: dict[str, float]) -> str:
    """The name of the lowest finite cost; ties keep the order given (the base order)."""
    finite = [(cost, index, name) for index, (name, cost) in enumerate(costs.items()) if math.isfinite(cost)]
    return min(finite)[2] if finite else ""


def sensitivity_table(result: DecisionResult, top: int = 3) -> pd.DataFrame:
    """Daily cost of the ``top`` cheapest candidates with each input of :data:`RANGES` at its low and high end:
    a row per (input, end, candidate), :data:`COLUMNS`. ``cost_per_day_usd`` is NaN where no fleet meets the
    targets, the base cost where the input does not apply (``applies`` False); ``ranking_flips`` where
    ``cheapest_at_this_end`` (among the qualifying top candidates, module's scopes) is not ``base_cheapest``."""
    chosen = _top(result, top)
    base = {v.candidate.name: v.cost_per_day_usd for v in chosen}
    pool = [v.candidate.name for v in chosen if v.qualifies] or list(base)
    base_cheapest = _cheapest({name: base[name] for name in pool})
    rows = []
    for range_ in RANGES.values():
        for end in ("low", "high"):
            at_end = {v.candidate.name: _at_end(range_, end, v.candidate, result.inputs) for v in chosen}
            cost = {name: base[name] if value is None else value for name, (_, value) in at_end.items()}
            for verdict in chosen:
                name = verdict.candidate.name
                cheapest = _cheapest({other: cost[other] if range_.scope == ALL or other == name else base[other]
                                      for other in pool})  # fmt: skip
                rows.append((range_.name, end, at_end[name][0], name, verdict.qualifies, at_end[name][1] is not None,
                             cost[name], base[name], cheapest, base_cheapest, cheapest != base_cheapest,
                             range_.scope, range_.shown, range_.basis))  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _swing(frame: pd.DataFrame) -> pd.Series:
    """Per input, the largest spread of any candidate's cost over its two ends and its base."""
    costs = frame.groupby(["input", "candidate"])[["cost_per_day_usd", "base_cost_per_day_usd"]]
    spread = costs.max().max(axis=1) - costs.min().min(axis=1)
    return spread.groupby(level="input").max().fillna(0.0)


def _draw_input(axes, rows: pd.DataFrame, y_row: int, colours: dict) -> bool:
    """One tornado row: per candidate a pale bar base -> low end, a dark one base -> high end; True if it flips."""
    height = 0.8 / len(colours)
    for index, (candidate, colour) in enumerate(colours.items()):
        mine, y = rows[rows["candidate"] == candidate].set_index("end"), y_row + 0.4 - height * (index + 0.5)
        for end, alpha in (("low", 0.4), ("high", 0.95)) if len(mine) else ():
            row, gid = mine.loc[end], f"{rows['input'].iloc[0]}:{end}:{candidate}"
            cost, base = float(row["cost_per_day_usd"]), float(row["base_cost_per_day_usd"])
            if math.isfinite(cost):
                axes.barh(y, cost - base, left=base, height=height * 0.9, color=colour, alpha=alpha, linewidth=0,
                          gid=f"{end}:{rows['input'].iloc[0]}:{candidate}")  # fmt: skip
            else:  # no fleet meets the targets at this end
                axes.plot([base], [y], "kx", markersize=10, zorder=6, gid=f"no-fleet:{gid}")
            if row["ranking_flips"] and (row["varies"] == EACH or row["cheapest_at_this_end"] == candidate):
                axes.plot([cost if math.isfinite(cost) else base], [y], marker="*", markersize=14, color="#d62728",
                          markeredgecolor="black", linestyle="none", zorder=5, gid=f"flip:{gid}")  # fmt: skip
    if not (rows["cost_per_day_usd"] != rows["base_cost_per_day_usd"]).any():
        note = "no effect on these candidates" + ("" if rows["applies"].any() else " (does not apply)")
        axes.text(0.99, y_row, note, transform=axes.get_yaxis_transform(), ha="right", va="center", fontsize=8,
                  color="#555555")  # fmt: skip
    return bool(rows["ranking_flips"].any())


def plot_sensitivity(frame: pd.DataFrame):
    """A tornado of :func:`sensitivity_table`: a row per input (largest swing on top), a bar per candidate.

    A candidate's bar runs from its base cost (dashed line, gid ``base:<candidate>``) to its cost at the low
    end (pale, gid ``low:<input>:<candidate>``) and the high end (dark, ``high:...``) on a linear USD/day axis;
    a red star (``flip:<input>:<end>:<candidate>``) marks an end where the cheapest candidate changes, and
    that input's label says ``ranking flips``. Raises ValueError when a column of :data:`COLUMNS` is missing.
    """
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"plot_sensitivity needs a sensitivity_table frame; missing columns: {missing}.")
    import seaborn as sns
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    candidates, swing = list(dict.fromkeys(frame["candidate"])), _swing(frame)
    inputs = sorted(dict.fromkeys(frame["input"]), key=lambda name: -swing.get(name, 0.0))
    colours = dict(zip(candidates, sns.color_palette("tab10", max(len(candidates), 1))))
    figure, axes = pyplot().subplots(figsize=(10, 1.8 + 0.32 * max(len(inputs), 1) * max(len(candidates), 2)))
    for row_index, name in enumerate(inputs):
        rows = frame[frame["input"] == name]
        flips = _draw_input(axes, rows, len(inputs) - 1 - row_index, colours)
        shown = str(rows["range_shown"].iloc[0]).replace("$", r"\$")  # a plain dollar, not mathtext
        axes.text(-0.01, len(inputs) - 1 - row_index, f"{name}\n{shown}" + ("\nranking flips" if flips else ""),
                  transform=axes.get_yaxis_transform(), ha="right", va="center", fontsize=9, gid=f"label:{name}",
                  color="#aa0000" if flips else "black", fontweight="bold" if flips else "normal")  # fmt: skip
    for candidate, colour in colours.items():
        base = frame.loc[frame["candidate"] == candidate, "base_cost_per_day_usd"].iloc[0]
        axes.axvline(base, color=colour, linestyle="--", linewidth=1.2, gid=f"base:{candidate}")
    axes.set(yticks=[], ylim=(-0.6, max(len(inputs), 1) - 0.4), xscale="linear",
             xlabel="cost per day, USD (the candidate's cheapest variant)")  # fmt: skip
    axes.grid(True, axis="x", alpha=0.3)
    handles = [Line2D([], [], color=colours[c], linewidth=6, label=f"{c} (dashed: its base cost)") for c in candidates]
    handles += [Patch(facecolor="#777777", alpha=0.4, label="pale: low end of the range"),
                Patch(facecolor="#777777", alpha=0.95, label="dark: high end of the range"),
                Line2D([], [], marker="*", markersize=11, color="#d62728", markeredgecolor="black", linestyle="none",
                       label="the cheapest candidate changes at this end"),
                Line2D([], [], marker="x", color="black", linestyle="none", label="no fleet meets the targets")]
    axes.legend(handles=handles, fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)
    axes.set_title("Daily cost with one input at its low and high end, the others at base\n(ranges are assumptions "
                   "except throughput; figures/decision_sensitivity.csv gives each one's basis)", fontsize=10)
    if frame.empty:
        axes.text(0.5, 0.5, "no candidate can be priced", transform=axes.transAxes, ha="center", va="center")
    figure.tight_layout()
    return figure


def write_sensitivity(result: DecisionResult, figures_dir: str | Path, top: int = 3) -> list[Path]:
    """Write ``decision_sensitivity.csv`` (:func:`sensitivity_table`) and ``.png`` (the tornado); return the paths."""
    out = Path(figures_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = sensitivity_table(result, top)
    csv_path, png_path = out / "decision_sensitivity.csv", out / "decision_sensitivity.png"
    frame.to_csv(csv_path, index=False)
    return [csv_path, save_figure(plot_sensitivity(frame), png_path)]
