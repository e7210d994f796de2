"""The offset between another host's clock and this machine's, from one HTTP exchange.

A request sent at ``sent`` and answered at ``received`` (this machine's Unix
clock) carries the remote host's time ``remote``, taken somewhere in between;
``remote - (sent + received) / 2`` estimates the offset, within half the round
trip. The remote time is a metric where the exporter has one
(``benchlib_exporter_time_seconds``, node_exporter's ``node_time_seconds``,
Prometheus' ``time()``), else the HTTP ``Date`` header (whole seconds: another
half second of uncertainty).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["ClockOffset", "offset_from_date_header", "offset_from_remote_time"]


@dataclass(frozen=True)
class ClockOffset:
    """How far another host's clock is ahead of this machine's.

    Attributes:
        offset_s: Remote clock minus this machine's clock, seconds (add it to a
            local time to get the remote host's time for the same instant).
        uncertainty_s: Half-width of the estimate, seconds.
        method: Where the remote time came from.
    """

    offset_s: float
    uncertainty_s: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for run.json."""
        return asdict(self)


def offset_from_remote_time(remote_unix_s: float, sent_unix_s: float, received_unix_s: float, method: str) -> ClockOffset:
    """The offset from a remote timestamp read during one exchange.

    Args:
        remote_unix_s: The remote host's time, Unix seconds.
        sent_unix_s: When the request left, this machine's Unix seconds.
        received_unix_s: When the answer arrived, this machine's Unix seconds.
        method: Where the remote time came from (recorded).
    """
    midpoint = (sent_unix_s + received_unix_s) / 2.0
    return ClockOffset(remote_unix_s - midpoint, (received_unix_s - sent_unix_s) / 2.0, method)


def offset_from_date_header(date: str, sent_unix_s: float, received_unix_s: float) -> ClockOffset | None:
    """The offset from an HTTP ``Date`` header (whole seconds), or ``None`` when it cannot be parsed."""
    try:
        remote = parsedate_to_datetime(date).timestamp() + 0.5  # the header truncates to the second
    except (TypeError, ValueError):
        return None
    found = offset_from_remote_time(remote, sent_unix_s, received_unix_s, "HTTP Date header (1 s resolution)")
    return ClockOffset(found.offset_s, found.uncertainty_s + 0.5, found.method)
