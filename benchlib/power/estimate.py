"""Power from a hardware profile's figure: an estimate, always labelled as one.

When no sensor is available (a rented cloud GPU without NVML access, a Pi
without a meter) the benchmark falls back to a constant power per hardware
profile, as the article does: 8 W for the Pi 5 + AI HAT+ 2 under load, and
70 / 150 / 350 W for L4-, A10G- and H100-class GPUs. Every measurement from
here has ``kind="estimated"`` and boundary ``"estimate (profile)"``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from benchlib.errors import ParameterError
from benchlib.power.base import BOUNDARY_ESTIMATE, KIND_ESTIMATED, Kind, Quantity
from benchlib.power.measurement import METHOD_PROFILE, Measurement

__all__ = ["PROFILE_POWER_W", "ProfileEstimateReader"]

PROFILE_POWER_W = MappingProxyType(
    {
        "pi5": 8.0,  # article: ~8 W under load, including the AI HAT+ 2
        "l4": 70.0,  # article: cloud power draw assumptions
        "a10g": 150.0,
        "h100": 350.0,
    }
)
"""Profile power figures from the article, watts (read-only)."""


class ProfileEstimateReader:
    """A constant power figure for a hardware profile, watts; never a measurement.

    Args:
        profile: Profile name (``pi5``, ``l4``, ``a10g``, ``h100`` or your own).
        power_w: The figure, watts; defaults to :data:`PROFILE_POWER_W` for known profiles.
        basis: Where the figure comes from (recorded with measurements).

    Raises:
        ParameterError: Unknown profile without ``power_w``, or a non-positive figure.
    """

    kind: Kind = KIND_ESTIMATED
    quantity: Quantity = "power"
    boundary = BOUNDARY_ESTIMATE

    def __init__(self, profile: str, power_w: float | None = None, basis: str | None = None) -> None:
        if power_w is None:
            if profile not in PROFILE_POWER_W:
                raise ParameterError(
                    f"no power figure for profile {profile!r}; known: {sorted(PROFILE_POWER_W)}, "
                    "or pass power_w= with your own figure"
                )
            power_w = PROFILE_POWER_W[profile]
            basis = basis or "benchmark article (Jan 2026) profile figure"
        if not power_w > 0:
            raise ParameterError(f"power_w must be positive, got {power_w!r}")
        self.profile = profile
        self.power_w = float(power_w)
        self.basis = basis or "user-supplied figure"
        self.name = f"estimate:{profile}"

    def read_power_w(self) -> float:
        """The profile's constant power, watts."""
        return self.power_w

    def measure(self, start_unix_s: float, end_unix_s: float, name: str = "window") -> Measurement:
        """The estimate for a window: profile power x duration.

        Args:
            start_unix_s: Window start, Unix seconds.
            end_unix_s: Window end, Unix seconds.
            name: Window name.

        Raises:
            ParameterError: The window ends before it starts.
        """
        duration_s = end_unix_s - start_unix_s
        if duration_s < 0:
            raise ParameterError(f"window {name!r} ends before it starts ({end_unix_s} < {start_unix_s})")
        return Measurement(
            name=name,
            energy_j=self.power_w * duration_s,
            duration_s=duration_s,
            mean_power_w=self.power_w,
            samples=0,
            source=self.name,
            boundary=self.boundary,
            kind=self.kind,
            start_unix_s=start_unix_s,
            end_unix_s=end_unix_s,
            method=METHOD_PROFILE,
        )

    def describe(self) -> dict[str, Any]:
        """Name, boundary, kind, quantity, profile, figure and its basis."""
        return {
            "name": self.name,
            "boundary": self.boundary,
            "kind": self.kind,
            "quantity": self.quantity,
            "profile": self.profile,
            "power_w": self.power_w,
            "basis": self.basis,
        }

    def close(self) -> None:
        """Nothing to release."""
