"""Which Prometheus metric holds a host's power or energy: presets for the exporters people run.

A :class:`MetricChoice` names a metric (or a regular expression over metric
names) and its unit; the unit says whether it is an energy counter (``J``,
``mJ``, ``uJ``) or a power gauge (``W``, ``mW``, ``uW``). A :class:`Preset`
lists counters first and gauges after: counters are preferred, because a
counter difference loses nothing between samples while a gauge is only seen
when it is sampled.

Presets:

* ``benchlib``: ``benchlib exporter`` on the device (``benchlib_energy_joules_total``,
  else ``benchlib_power_watts``); the boundary is the exporter's own ``boundary`` label.
* ``dcgm``: NVIDIA's DCGM exporter on a GPU host (``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION``
  in mJ, else ``DCGM_FI_DEV_POWER_USAGE`` in W): board power of each GPU, summed.
* ``node-rapl``: node_exporter's RAPL collector (``node_rapl_package_joules_total``
  and ``node_rapl_dram_joules_total``): CPU package and DRAM, summed over sockets.

:func:`custom_choice` builds a choice from a metric name or PromQL and a unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from benchlib.errors import ParameterError

__all__ = ["PRESETS", "UNIT_SCALE", "MetricChoice", "Preset", "custom_choice", "get_preset", "selector"]

UNIT_SCALE: dict[str, tuple[str, float]] = {
    "J": ("energy", 1.0),
    "mJ": ("energy", 1e-3),
    "uJ": ("energy", 1e-6),
    "kWh": ("energy", 3.6e6),
    "W": ("power", 1.0),
    "mW": ("power", 1e-3),
    "uW": ("power", 1e-6),
}
"""Unit -> (quantity, factor to joules or watts)."""


@dataclass(frozen=True)
class MetricChoice:
    """One metric that may hold the power or energy.

    Attributes:
        pattern: A metric name, or a regular expression over names when ``regex``.
        unit: Its unit, a :data:`UNIT_SCALE` key.
        regex: ``pattern`` is a regular expression (full match).
        query: A PromQL expression to evaluate instead (Prometheus server only).
        exclude: ``(label, regular expression)`` pairs: a series whose label fully matches one is
            not this metric (node_exporter lists a RAPL package twice, once as ``intel-rapl-mmio``).
    """

    pattern: str
    unit: str
    regex: bool = False
    query: str | None = None
    exclude: tuple[tuple[str, str], ...] = ()

    @property
    def quantity(self) -> str:
        """``"energy"`` (a counter) or ``"power"`` (a gauge)."""
        return UNIT_SCALE[self.unit][0]

    @property
    def scale(self) -> float:
        """Factor from the metric's unit to joules or watts."""
        return UNIT_SCALE[self.unit][1]

    def matches(self, name: str, labels: dict[str, str] | None = None) -> bool:
        """True when the metric ``name`` (with ``labels``) is this choice."""
        if any(re.fullmatch(regex, (labels or {}).get(label, "")) for label, regex in self.exclude):
            return False
        return re.fullmatch(self.pattern, name) is not None if self.regex else name == self.pattern

    def selector(self, labels: dict[str, str]) -> str:
        """A PromQL selector of this metric with ``labels`` as equality matchers."""
        if self.regex:
            return selector("", {"__name__": self.pattern, **labels}, self.exclude, regex_labels=("__name__",))
        return selector(self.pattern, labels, self.exclude)


def selector(
    name: str, labels: dict[str, str], exclude: tuple[tuple[str, str], ...] = (), *, regex_labels: tuple[str, ...] = ()
) -> str:
    """A PromQL selector: ``name{label="value",...,label!~"regex"}`` (``=~`` for ``regex_labels``)."""
    matchers = [f'{k}{"=~" if k in regex_labels else "="}"{v}"' for k, v in labels.items() if k in regex_labels]
    matchers += [f'{k}="{v}"' for k, v in sorted(labels.items()) if k not in regex_labels]
    matchers += [f'{k}!~"{v}"' for k, v in exclude]
    return name + ("{" + ",".join(matchers) + "}" if matchers or not name else "")


@dataclass(frozen=True)
class Preset:
    """Where an exporter keeps a host's energy and power.

    Attributes:
        name: Preset name.
        choices: Counters first, then gauges; the first one present is used.
        boundary: What the sensor sees (``None``: the series' ``boundary`` label says).
        sees: One line for the README and the doctor.
        guard: A counter of seconds whose energy the exporter's counter lacks (failed
            sensor reads); if it grows during a window, that window's energy is invalid.
    """

    name: str
    choices: tuple[MetricChoice, ...]
    boundary: str | None
    sees: str
    guard: str | None = None


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "benchlib",
            (MetricChoice("benchlib_energy_joules_total", "J"), MetricChoice("benchlib_power_watts", "W")),
            None,
            "benchlib exporter on the device: whatever its reader sees (pi5-pmic rails, ina2xx board input, "
            "rapl package, nvml GPU), named in its boundary label",
            guard="benchlib_exporter_uncovered_seconds_total",
        ),
        Preset(
            "dcgm",
            (
                MetricChoice("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "mJ"),
                MetricChoice("DCGM_FI_DEV_POWER_USAGE", "W"),
            ),
            "GPU only (board power of each GPU, DCGM)",
            "NVIDIA DCGM exporter: board power of each GPU (not the host CPU, memory or fans), summed over GPUs",
        ),
        Preset(
            "node-rapl",
            (MetricChoice("node_rapl_(package|dram)_joules_total", "J", regex=True, exclude=(("path", ".*intel-rapl-mmio.*"),)),),
            "CPU package + DRAM (RAPL via node_exporter)",
            "node_exporter's rapl collector: CPU package and DRAM counters (no GPU, no board), summed over sockets",
        ),
    )
}
"""Preset name -> :class:`Preset`."""


def get_preset(name: str) -> Preset:
    """The preset ``name``.

    Raises:
        ParameterError: Unknown preset (the message lists the presets).
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ParameterError(
            f"unknown Prometheus preset {name!r}; valid: {', '.join(PRESETS)} (or give metric: NAME and unit: J|W ...)"
        ) from None


def custom_choice(metric: str | None, query: str | None, unit: str | None) -> MetricChoice:
    """A choice from the user's metric name or PromQL and unit.

    The unit may be left out for names that end in ``_joules_total``/``_joules``
    (J) or ``_watts`` (W).

    Raises:
        ParameterError: Both or neither of ``metric`` and ``query``, or a unit that is unknown or missing.
    """
    if (metric is None) == (query is None):
        raise ParameterError("give power_options.metric (a metric name) or power_options.query (PromQL), not both")
    if unit is None and metric is not None:
        if metric.endswith(("_joules_total", "_joules")):
            unit = "J"
        elif metric.endswith("_watts"):
            unit = "W"
    if unit not in UNIT_SCALE:
        raise ParameterError(
            f"power_options.unit must say what the {'metric' if metric else 'query'} holds; "
            f"got {unit!r}, valid: {', '.join(UNIT_SCALE)} (energy counters: J, mJ, uJ, kWh; power gauges: W, mW, uW)"
        )
    if query is not None:
        return MetricChoice(pattern="", unit=unit, query=query)
    assert metric is not None
    return MetricChoice(metric, unit)
