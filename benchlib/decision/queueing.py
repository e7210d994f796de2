"""Fleet sizing with queueing: n devices of ``slots_per_device`` batch slots are one M/G/c queue, FCFS.

``c = n × slots_per_device`` identical servers (continuous batching), Poisson arrivals; a request's
service time is its end-to-end time at that batch, and the TTFT its user sees is its queue wait plus
its own first-token time. :func:`simulate_mgc` resamples measured service times; :func:`erlang_c` and
:func:`mmc_wait`, exact M/M/c answers for the same mean, check it; :func:`size_fleet` finds the fewest
devices that meet the targets. Arrivals and samples depend on the seed only, never on ``servers``
(common random numbers), so under FCFS every request's wait falls or stays as servers are added.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

from benchlib.errors import ParameterError

__all__ = ["FleetSize", "MMcWait", "QueueStats", "erlang_c", "mmc_wait", "simulate_mgc", "size_fleet"]


def _whole(value: object, name: str, least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ParameterError(f"{name} must be a whole number >= {least}, got {value!r}.")
    return int(value)


def _positive(value: float, name: str, unit: str) -> float:
    if not (isinstance(value, (int, float, np.number)) and 0 < value < math.inf):
        raise ParameterError(f"{name} must be a finite number > 0 {unit}, got {value!r}.")
    return float(value)


def _share(q: float, name: str = "q") -> float:
    if not (isinstance(q, (int, float, np.number)) and 0 <= q <= 1):
        raise ParameterError(f"{name} must be a share between 0 and 1, got {q!r}.")
    return float(q)


def _samples(values: object, name: str, samples: int | None = None, positive: bool = False) -> np.ndarray:
    """Finite seconds (> 0 or >= 0): one or more values, or (``samples`` given) one or one per service sample."""
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0 or (samples is not None and array.size not in (1, samples)):
        wanted = "values" if samples is None else f"value or {samples} (one per service-time sample)"
        raise ParameterError(f"{name} must have one or more {wanted}, got {array.size}.")
    if not np.all(np.isfinite(array)) or np.any(array <= 0 if positive else array < 0):
        raise ParameterError(f"{name} must be finite seconds {'> 0' if positive else '>= 0'}, got {array[:5]}...")
    return array


@dataclass(frozen=True)
class QueueStats:
    """A simulated M/G/c queue; unstable (``utilization >= 1``): infinite waits, p_wait 1.0, empty arrays."""

    servers: int
    arrival_rate_per_s: float
    mean_service_s: float
    utilization: float  # arrival_rate × mean_service / servers
    p_wait: float  # share of measured requests that waited > 0
    mean_wait_s: float
    wait_p50_s: float
    wait_p95_s: float
    wait_p99_s: float
    waits_s: np.ndarray = field(compare=False, repr=False)  # per measured request
    sample_index: np.ndarray = field(compare=False, repr=False)  # service-time sample each one drew
    requests: int  # measured requests (after the warm-up)
    service_samples: int  # size of the service-time sample: arrays aligned with it have this length

    def wait_quantile_s(self, q: float) -> float:
        """Quantile ``q`` (0..1) of the measured waits, seconds (inf when unstable)."""
        q = _share(q)
        return float(np.quantile(self.waits_s, q)) if self.waits_s.size else math.inf

    def _per_request(self, values: object, name: str) -> np.ndarray:
        array = _samples(values, name, self.service_samples)
        return np.full(self.sample_index.size, array[0]) if array.size == 1 else array[self.sample_index]

    def first_token_quantile_s(self, first_token_s: np.ndarray | float, q: float) -> float:
        """Quantile ``q`` of wait + first token, seconds (inf when unstable); ``first_token_s`` as in attainment."""
        q = _share(q)
        if not self.waits_s.size:
            return math.inf
        return float(np.quantile(self.waits_s + self._per_request(first_token_s, "first_token_s"), q))

    def attainment(
        self,
        first_token_s: np.ndarray | float,
        ttft_limit_s: float | None,
        tpot_s: np.ndarray | float | None = None,
        tpot_limit_s: float | None = None,
    ) -> float:
        """Share of measured requests with wait + first token <= ``ttft_limit_s`` and own TPOT <= ``tpot_limit_s``.

        ``first_token_s`` and ``tpot_s`` are aligned with the service-time samples, or one value each. A
        limit of None is not checked. An unstable queue attains 0.0.
        """
        if tpot_limit_s is not None and tpot_s is None:
            raise ParameterError("tpot_limit_s is set but tpot_s is not: give each sample's time per output token.")
        if not self.waits_s.size:
            return 0.0
        within = np.ones(self.waits_s.size, dtype=bool)
        if ttft_limit_s is not None:
            within &= self.waits_s + self._per_request(first_token_s, "first_token_s") <= ttft_limit_s
        if tpot_limit_s is not None:
            within &= self._per_request(tpot_s, "tpot_s") <= tpot_limit_s
        return float(within.mean())


def _fcfs_waits(arrivals_s: list[float], service_s: list[float], servers: int) -> np.ndarray:
    """Each request's wait, FCFS to the earliest-free server (a heap of free times: O(N log c))."""
    if servers >= len(arrivals_s):  # a server for every request: nobody waits
        return np.zeros(len(arrivals_s))
    free = [0.0] * servers
    waits = [0.0] * len(arrivals_s)
    replace = heapq.heapreplace  # the loop runs millions of times in a decision: no attribute look-ups in it
    for index, (arrival, service) in enumerate(zip(arrivals_s, service_s)):
        earliest = free[0]
        if earliest > arrival:
            waits[index] = earliest - arrival
            replace(free, earliest + service)
        else:
            replace(free, arrival + service)
    return np.asarray(waits)


def simulate_mgc(
    arrival_rate_per_s: float,
    servers: int,
    service_s: np.ndarray,
    *,
    requests: int = 20_000,
    warmup_share: float = 0.1,
    seed: int = 0,
) -> QueueStats:
    """Simulate an M/G/c FCFS queue that starts empty; the first ``warmup_share`` of requests are not measured.

    Args:
        arrival_rate_per_s: Poisson arrival rate, requests/s.
        servers: c, identical servers (devices × slots per device).
        service_s: Service-time samples, seconds, resampled with replacement (one value: M/D/c).
        requests: Requests simulated, warm-up included.
        warmup_share: Share of the first requests dropped from the statistics (the queue starts empty).
        seed: Of ``numpy.random.default_rng``: the same arrivals and samples whatever ``servers`` is.
    """
    rate = _positive(arrival_rate_per_s, "arrival_rate_per_s", "requests/s")
    servers = _whole(servers, "servers")
    service = _samples(service_s, "service_s", positive=True)
    requests = _whole(requests, "requests")
    if not (isinstance(warmup_share, (int, float)) and 0 <= warmup_share < 1):
        raise ParameterError(f"warmup_share must be >= 0 and < 1, got {warmup_share!r}.")
    dropped = int(warmup_share * requests)
    if dropped >= requests:
        raise ParameterError(f"requests={requests} leaves none measured after a warm-up share of {warmup_share}.")
    mean_service = float(service.mean())
    utilization = rate * mean_service / servers
    if utilization >= 1:
        inf, empty = math.inf, np.array([])
        return QueueStats(servers, rate, mean_service, utilization, 1.0, inf, inf, inf, inf, empty,
                          empty.astype(int), 0, service.size)  # fmt: skip
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, requests))
    index = rng.integers(0, service.size, requests)
    waits = _fcfs_waits(arrivals.tolist(), service[index].tolist(), servers)[dropped:]
    p50, p95, p99 = np.quantile(waits, [0.5, 0.95, 0.99])
    return QueueStats(servers, rate, mean_service, utilization, float(np.mean(waits > 0)), float(waits.mean()),
                      float(p50), float(p95), float(p99), waits, index[dropped:], waits.size, service.size)  # fmt: skip


def erlang_c(servers: int, offered_load_erlangs: float) -> float:
    """P(wait) in M/M/c with c servers and load A = rate × mean service (stable Erlang B recursion); 1.0 if A >= c."""
    servers = _whole(servers, "servers")
    load = float(offered_load_erlangs)
    if not (math.isfinite(load) and load >= 0):
        raise ParameterError(f"offered_load_erlangs must be finite and >= 0, got {offered_load_erlangs!r}.")
    if load >= servers:
        return 1.0
    blocking = 1.0  # Erlang B with 0 servers
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return servers * blocking / (servers - load * (1 - blocking))


@dataclass(frozen=True)
class MMcWait:
    """Exact M/M/c wait: ``P(W > t) = p_wait × exp(-(c·mu - lambda)·t)``; infinite when unstable."""

    p_wait: float
    mean_wait_s: float  # p_wait / (c·mu - lambda)
    utilization: float

    def wait_quantile_s(self, q: float) -> float:
        """0 when ``q <= 1 - p_wait``, else ``ln(p_wait / (1 - q)) / (c·mu - lambda)`` seconds."""
        q = _share(q)
        if q <= 1 - self.p_wait:
            return 0.0
        if q >= 1 or math.isinf(self.mean_wait_s):
            return math.inf
        return math.log(self.p_wait / (1 - q)) * self.mean_wait_s / self.p_wait  # 1/(c·mu - lambda) = mean / p_wait


def mmc_wait(servers: int, arrival_rate_per_s: float, mean_service_s: float) -> MMcWait:
    """The wait of an M/M/c queue with ``servers`` servers, Poisson arrivals and exponential service of that mean."""
    servers = _whole(servers, "servers")
    rate = _positive(arrival_rate_per_s, "arrival_rate_per_s", "requests/s")
    mean_service = _positive(mean_service_s, "mean_service_s", "seconds")
    load = rate * mean_service
    if load >= servers:
        return MMcWait(1.0, math.inf, load / servers)
    p_wait = erlang_c(servers, load)
    return MMcWait(p_wait, p_wait / (servers / mean_service - rate), load / servers)


@dataclass(frozen=True)
class FleetSize:
    """The fewest devices that meet the targets, with the queue simulated at that size."""

    devices: int
    slots_per_device: int
    stats: QueueStats
    ttft_quantile_s: float  # the quantile of wait + first token at this fleet
    attainment: float  # share of requests within both limits (QueueStats.attainment)
    erlang_c_p_wait: float  # check: Erlang C's P(wait) for the same c and load (M/M/c, same mean)


def size_fleet(
    arrival_rate_per_s: float,
    slots_per_device: int,
    service_s: np.ndarray,
    first_token_s: np.ndarray | float,
    *,
    ttft_limit_s: float | None,
    quantile: float = 0.95,
    tpot_s: np.ndarray | float | None = None,
    tpot_limit_s: float | None = None,
    min_attainment: float | None = None,
    max_devices: int = 100_000,
    requests: int = 20_000,
    seed: int = 0,
) -> FleetSize | None:
    """The smallest fleet, n >= 1 devices with utilization < 1, whose queue meets the targets.

    Targets: the ``quantile`` of wait + first token <= ``ttft_limit_s`` (when set), and
    :meth:`QueueStats.attainment` >= ``min_attainment`` (when set). Both are monotone in n under common
    random numbers: the search gallops up from the smallest stable fleet (steps 1, 2, 4, ...), then bisects.

    Args:
        arrival_rate_per_s: Poisson arrival rate, requests/s.
        slots_per_device: Requests one device serves at once.
        service_s: End-to-end time samples at that batch, seconds.
        first_token_s: First-token time of each sample, aligned with ``service_s``, or one value.
        ttft_limit_s: Limit on the ``quantile`` of wait + first token, seconds; None: not checked.
        quantile: The quantile the TTFT limit applies to.
        tpot_s: Time per output token of each sample (aligned like ``first_token_s``).
        tpot_limit_s: Limit on a request's TPOT; it counts only through ``min_attainment``.
        min_attainment: Least share of requests within both limits; None: not checked.
        max_devices: The largest fleet considered.
        requests: Requests of each simulation (:func:`simulate_mgc`, 10% warm-up).
        seed: Seed of each simulation.

    Returns:
        The fleet, or None when no fleet meets the targets: they fail with no wait at all (the
        first-token time alone misses the limit, or too many samples miss the TPOT limit).

    Raises:
        ParameterError: Invalid inputs, or the targets need more than ``max_devices`` devices.
    """
    slots = _whole(slots_per_device, "slots_per_device")
    max_devices, requests = _whole(max_devices, "max_devices"), _whole(requests, "requests")
    rate = _positive(arrival_rate_per_s, "arrival_rate_per_s", "requests/s")
    samples = _samples(service_s, "service_s", positive=True)
    quantile = _share(quantile, "quantile")
    for limit, name in ((ttft_limit_s, "ttft_limit_s"), (tpot_limit_s, "tpot_limit_s")):
        if limit is not None:
            _positive(limit, name, "seconds")
    if min_attainment is not None and not 0 < _share(min_attainment, "min_attainment"):
        raise ParameterError(f"min_attainment must be > 0 (None: not checked), got {min_attainment!r}.")
    if tpot_limit_s is not None and tpot_s is None:
        raise ParameterError("tpot_limit_s is set but tpot_s is not: give each sample's time per output token.")
    load = rate * float(samples.mean())
    smallest = max(1, math.floor(load / slots) + 1)  # utilization < 1
    runs: dict[int, QueueStats] = {}

    def meets(devices: int) -> bool:
        if devices not in runs:
            runs[devices] = simulate_mgc(rate, devices * slots, samples, requests=requests, seed=seed)
        stats = runs[devices]
        if ttft_limit_s is not None and stats.first_token_quantile_s(first_token_s, quantile) > ttft_limit_s:
            return False
        if min_attainment is None:
            return True
        return stats.attainment(first_token_s, ttft_limit_s, tpot_s, tpot_limit_s) >= min_attainment

    no_wait = max(smallest, -(-requests // slots))  # a slot for every request: nobody waits
    if not meets(no_wait):
        return None
    if smallest > max_devices or (not meets(smallest) and not meets(min(no_wait, max_devices))):
        raise ParameterError(
            f"The targets need more than max_devices={max_devices} devices of {slots} slots at "
            f"{rate:g} requests/s ({load:g} erlangs of load): raise max_devices."
        )
    low, step, high = smallest, 1, smallest
    while not meets(high):  # low fails; gallop until high meets
        low, high, step = high, min(high + step, no_wait, max_devices), step * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if meets(middle) else (middle, high)
    stats = runs[high]
    return FleetSize(high, slots, stats, stats.first_token_quantile_s(first_token_s, quantile),
                     stats.attainment(first_token_s, ttft_limit_s, tpot_s, tpot_limit_s),
                     erlang_c(high * slots, load))  # fmt: skip
