"""What a number rests on, in the words every table and figure uses for it (DESIGN.md's evidence ladder).

A basis names what was measured and what was assumed. Latencies and rates of a
run are ``measured``; a run's energy without a power sensor is ``estimated``
(the hardware profile's assumed watts × measured time); published figures are
``published``; another tool's numbers are ``imported``. A cost per million tokens
is never simply measured: it is a measured (or imported) throughput priced at a
price profile's assumed prices, so its basis says so —
``measured throughput × assumed price`` — and, when it bills electricity at an
estimated power, ``measured throughput × assumed price, power estimated``.
"""

from __future__ import annotations

__all__ = [
    "BASIS_ESTIMATED",
    "BASIS_IMPORTED",
    "BASIS_MEASURED",
    "BASIS_PUBLISHED",
    "POWER_ESTIMATED",
    "cost_basis",
    "rests_on_estimate",
]

BASIS_MEASURED = "measured"
BASIS_IMPORTED = "imported"
BASIS_ESTIMATED = "estimated"
BASIS_PUBLISHED = "published"
POWER_ESTIMATED = "power estimated"
"""What a cost basis adds when its electricity is billed at a profile's assumed power, not a sensor's."""


def cost_basis(throughput_basis: str = BASIS_MEASURED, power_estimated: bool = False) -> str:
    """The basis of a cost per million tokens: ``measured throughput × assumed price`` (``, power estimated``).

    Args:
        throughput_basis: What the throughput rests on (:data:`BASIS_MEASURED` or :data:`BASIS_IMPORTED`).
        power_estimated: The price bills electricity at an estimated power (no sensor).
    """
    basis = f"{throughput_basis} throughput × assumed price"
    return f"{basis}, {POWER_ESTIMATED}" if power_estimated else basis


def rests_on_estimate(basis: str) -> bool:
    """Whether a basis rests on an estimate (estimated energy, or a cost billing estimated power)."""
    return basis == BASIS_ESTIMATED or basis.endswith(POWER_ESTIMATED)
