"""An external inline meter's CSV log, aligned to windows by wall-clock time.

USB-C power meters and smart plugs export logs with a timestamp column and
either a power column or voltage and current columns. This reader loads such
a log and gives the energy over any window ``[start_unix_s, end_unix_s]``
(trapezoid over the log's samples, edges interpolated), the way the
article measured the Pi with an inline meter.

Columns are found by name (``time``/``timestamp``/``unix_s`` ...,
``power``/``watts``/``power_w`` ..., ``voltage``/``volts`` ...,
``current``/``amps`` ...) or given explicitly; a unit in the header, as in
``Current (mA)``, ``power_mw`` or ``Voltage[V]``, is honoured (W, mW, kW, V,
mV, A, mA). Timestamps are ISO 8601 strings or Unix seconds (numbers above
1e11 are taken as Unix milliseconds). ISO strings without a UTC offset need
``tz=`` (the meter's time zone), because guessing it would shift every
window by hours.

The meter's clock is not this machine's: ``clock_offset_s`` is added to
every meter timestamp to bring it onto this machine's clock (if the meter
runs 2 s behind, pass ``clock_offset_s=2.0``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.power.base import KIND_MEASURED, Kind, Quantity
from benchlib.power.errors import MeterLogError
from benchlib.power.integrate import trapezoid_window_j
from benchlib.power.measurement import METHOD_METER_LOG, SAMPLE_COLUMNS, Measurement

__all__ = ["METER_BOUNDARY", "MeterLogReader"]

METER_BOUNDARY = "board input (inline meter)"

_TIME_NAMES = ("unix_s", "unix", "epoch", "timestamp", "time", "datetime", "date_time", "ts", "date")
_POWER_NAMES = ("power_w", "power", "watts", "watt", "active_power", "p", "w")
_VOLT_NAMES = ("voltage_v", "voltage", "volts", "volt", "vbus", "v", "u")
_CURRENT_NAMES = ("current_a", "current", "amps", "amp", "ibus", "i", "a")
_SCALE = {"w": 1.0, "mw": 1e-3, "kw": 1e3, "v": 1.0, "mv": 1e-3, "a": 1.0, "ma": 1e-3, "s": 1.0, "ms": 1e-3}
_UNIT_IN_BRACKETS = re.compile(r"^(?P<base>.*?)\s*[(\[](?P<unit>[^)\]]*)[)\]]\s*$")


def _parse_header(header: str) -> tuple[str, str | None]:
    """(normalized base name, lower-case unit or None) of a column header."""
    unit = None
    match = _UNIT_IN_BRACKETS.match(header.strip())
    base = header
    if match:
        base, unit = match["base"], match["unit"].strip().lower()
    base = re.sub(r"[^0-9a-z]+", "_", base.strip().lower()).strip("_")
    if unit is None:
        head, _, tail = base.rpartition("_")
        if head and tail in _SCALE and tail not in ("s",):
            base, unit = head, tail
    return base, unit


def _find_column(frame: pd.DataFrame, names: tuple[str, ...], given: str | None, what: str) -> tuple[str, float] | None:
    """(column, scale to SI) for a role, or None when absent and not given."""
    if given is not None:
        if given not in frame.columns:
            raise MeterLogError(f"the meter log has no column {given!r} for {what}; columns: {list(frame.columns)}")
        _, unit = _parse_header(given)
        return given, _unit_scale(unit, given)
    parsed = {col: _parse_header(str(col)) for col in frame.columns}
    for name in names:
        for col, (base, unit) in parsed.items():
            if base == name:
                return col, _unit_scale(unit, col)
    return None


def _unit_scale(unit: str | None, column: str) -> float:
    if unit is None or unit == "":
        return 1.0
    if unit not in _SCALE:
        raise MeterLogError(f"unknown unit {unit!r} in column {column!r}; known: W, mW, kW, V, mV, A, mA, s, ms")
    return _SCALE[unit]


def _iso(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, tz=timezone.utc).isoformat(timespec="milliseconds")


class MeterLogReader:
    """Energy over wall-clock windows from an external meter's CSV log.

    Args:
        path: The CSV file.
        clock_offset_s: Seconds added to every meter timestamp to put it on
            this machine's clock.
        tz: Time zone of ISO timestamps that carry no UTC offset (``"UTC"``,
            ``"Europe/Berlin"``); required for such logs.
        time_column: Timestamp column; found by name when ``None``.
        power_column: Power column; found by name when ``None``.
        volt_column: Voltage column (used with ``current_column`` when there is no power column).
        current_column: Current column.
        boundary: What the meter sees; an inline USB-C meter at the board's
            input by default (a smart plug sees the wall, including the PSU).
        max_gap_s: If given, a window containing a longer gap between log
            rows is an error (the meter dropped out).

    Raises:
        MeterLogError: The file cannot be read, has no usable columns, no rows,
            or naive timestamps without ``tz``.
    """

    name = "meter-log"
    kind: Kind = KIND_MEASURED
    quantity: Quantity = "log"

    def __init__(
        self,
        path: str | Path,
        *,
        clock_offset_s: float = 0.0,
        tz: str | None = None,
        time_column: str | None = None,
        power_column: str | None = None,
        volt_column: str | None = None,
        current_column: str | None = None,
        boundary: str = METER_BOUNDARY,
        max_gap_s: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.clock_offset_s = float(clock_offset_s)
        self.tz = tz
        self.boundary = boundary
        self.max_gap_s = max_gap_s
        try:
            frame = pd.read_csv(self.path, comment="#", skipinitialspace=True)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise MeterLogError(f"cannot read meter log {self.path}: {exc}") from exc
        frame.columns = [str(c).strip() for c in frame.columns]

        time_col = _find_column(frame, _TIME_NAMES, time_column, "the timestamp")
        if time_col is None:
            raise MeterLogError(
                f"no timestamp column in {self.path} (columns: {list(frame.columns)}); pass time_column="
            )
        power_col = _find_column(frame, _POWER_NAMES, power_column, "power")
        if power_col is not None:
            power_w = pd.to_numeric(frame[power_col[0]], errors="coerce") * power_col[1]
            self.columns = {"time": time_col[0], "power": power_col[0]}
        else:
            volt_col = _find_column(frame, _VOLT_NAMES, volt_column, "voltage")
            curr_col = _find_column(frame, _CURRENT_NAMES, current_column, "current")
            if volt_col is None or curr_col is None:
                raise MeterLogError(
                    f"{self.path} has neither a power column nor voltage and current columns "
                    f"(columns: {list(frame.columns)}); pass power_column= or volt_column= and current_column="
                )
            volts = pd.to_numeric(frame[volt_col[0]], errors="coerce") * volt_col[1]
            amps = pd.to_numeric(frame[curr_col[0]], errors="coerce") * curr_col[1]
            power_w = volts * amps
            self.columns = {"time": time_col[0], "volt": volt_col[0], "current": curr_col[0]}

        unix_s = self._parse_times(frame[time_col[0]], time_col[1]) + self.clock_offset_s
        keep = np.isfinite(unix_s) & np.isfinite(power_w.to_numpy(dtype=float))
        self.dropped_rows = int(len(frame) - keep.sum())
        order = np.argsort(unix_s[keep], kind="stable")
        self.unix_s: np.ndarray = unix_s[keep][order]
        """Row times on this machine's clock (offset applied), Unix seconds."""
        self.power_w: np.ndarray = power_w.to_numpy(dtype=float)[keep][order]
        """Row power, watts."""
        if len(self.unix_s) < 2:
            raise MeterLogError(f"{self.path} has {len(self.unix_s)} usable rows; need at least 2")

    def _parse_times(self, column: pd.Series, scale: float) -> np.ndarray:
        numeric = pd.to_numeric(column, errors="coerce")
        if numeric.notna().all():
            values = numeric.to_numpy(dtype=float) * scale
            if scale == 1.0 and np.nanmedian(np.abs(values)) > 1e11:
                values = values / 1000.0  # Unix milliseconds
            return values
        try:
            times = pd.to_datetime(column, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise MeterLogError(
                f"cannot read the timestamps in {self.path} column {column.name!r} as ISO 8601 "
                f"or Unix seconds: {exc}"
            ) from exc
        if not isinstance(times.dtype, pd.DatetimeTZDtype):
            if self.tz is None:
                raise MeterLogError(
                    f"the timestamps in {self.path} carry no UTC offset (e.g. {column.iloc[0]!r}); "
                    "pass tz= with the meter's time zone ('UTC', 'Europe/Berlin' ...)"
                )
            times = times.dt.tz_localize(self.tz)
        epoch = pd.Timestamp("1970-01-01", tz="UTC")
        return ((times - epoch) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)

    @property
    def span_unix_s(self) -> tuple[float, float]:
        """First and last row time on this machine's clock, Unix seconds."""
        return float(self.unix_s[0]), float(self.unix_s[-1])

    def measure(self, start_unix_s: float, end_unix_s: float, name: str = "window") -> Measurement:
        """Energy over ``[start_unix_s, end_unix_s]`` (this machine's clock) from the log.

        Args:
            start_unix_s: Window start, Unix seconds.
            end_unix_s: Window end, Unix seconds.
            name: Window name.

        Raises:
            MeterLogError: The log does not cover the window, has a gap longer
                than ``max_gap_s`` inside it, or the window ends before it starts.
        """
        if end_unix_s < start_unix_s:
            raise MeterLogError(f"window {name!r} ends before it starts ({end_unix_s} < {start_unix_s})")
        first, last = self.span_unix_s
        if start_unix_s < first or end_unix_s > last:
            raise MeterLogError(
                f"the meter log {self.path} covers {_iso(first)} to {_iso(last)} (after a clock offset of "
                f"{self.clock_offset_s:+g} s) but window {name!r} is {_iso(start_unix_s)} to "
                f"{_iso(end_unix_s)}; log the whole run, or fix clock_offset_s / tz if the clocks differ"
            )
        if self.max_gap_s is not None:
            lo = max(int(np.searchsorted(self.unix_s, start_unix_s, side="right")) - 1, 0)
            hi = int(np.searchsorted(self.unix_s, end_unix_s, side="left")) + 1
            gaps = np.diff(self.unix_s[lo:hi])
            if len(gaps) and gaps.max() > self.max_gap_s:
                at = self.unix_s[lo + int(gaps.argmax())]
                raise MeterLogError(
                    f"the meter log {self.path} has a {gaps.max():.1f} s gap at {_iso(at)} inside window "
                    f"{name!r} (limit {self.max_gap_s:g} s): the meter dropped out"
                )
        energy_j, samples = trapezoid_window_j(self.unix_s, self.power_w, start_unix_s, end_unix_s)
        duration_s = end_unix_s - start_unix_s
        mean_power_w = energy_j / duration_s if duration_s > 0 else float(
            np.interp(start_unix_s, self.unix_s, self.power_w)
        )
        return Measurement(
            name=name,
            energy_j=energy_j,
            duration_s=duration_s,
            mean_power_w=mean_power_w,
            samples=samples,
            source=self.name,
            boundary=self.boundary,
            kind=self.kind,
            start_unix_s=start_unix_s,
            end_unix_s=end_unix_s,
            method=METHOD_METER_LOG,
        )

    def to_frame(self) -> pd.DataFrame:
        """The log as a power-sample frame (``perf_s`` is ``nan``: the meter has no such clock)."""
        n = len(self.unix_s)
        steps = (self.power_w[1:] + self.power_w[:-1]) * np.diff(self.unix_s) / 2.0
        frame = pd.DataFrame(
            {
                "unix_s": self.unix_s,
                "perf_s": np.full(n, np.nan),
                "power_w": self.power_w,
                "energy_j": np.concatenate(([0.0], np.cumsum(steps))),
                "source": pd.Series([self.name] * n, dtype="string"),
                "boundary": pd.Series([self.boundary] * n, dtype="string"),
                "kind": pd.Series([self.kind] * n, dtype="string"),
            }
        )
        return frame[list(SAMPLE_COLUMNS)]

    def describe(self) -> dict[str, Any]:
        """Name, boundary, kind, quantity, file, columns, offset and span."""
        first, last = self.span_unix_s
        return {
            "name": self.name,
            "boundary": self.boundary,
            "kind": self.kind,
            "quantity": self.quantity,
            "path": str(self.path),
            "columns": self.columns,
            "clock_offset_s": self.clock_offset_s,
            "tz": self.tz,
            "rows": int(len(self.unix_s)),
            "dropped_rows": self.dropped_rows,
            "start_unix_s": first,
            "end_unix_s": last,
        }

    def close(self) -> None:
        """Nothing to release."""
