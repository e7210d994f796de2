"""The figures of "the machine a run was measured on, at T threads", for the performance model.

A run directory records the machine (``run.json`` ``machine``: architecture,
RAM, a memory-bandwidth probe), the llama.cpp build's instruction sets (in-process
runs: ``runtime.system_info``) and the CPU clock (``thermal``). From them:

* bandwidth: the probe's GB/s (numpy ``copyto``, best of repeats and of 1 and N
  threads), a *measured lower bound of peak*, not the DRAM's datasheet peak;
* peak compute: the int8 dot-product peak of ``T`` cores, the instruction
  llama.cpp's quantized (Q4/Q8) kernels use, as in ``hardware.yaml``'s
  ``model_peak_tflops`` of the Raspberry Pi 5::

      peak = T x clock x int8 MACs per cycle per core x 2 ops per MAC

  with the MACs per cycle of :data:`INT8_MACS_PER_CYCLE` (the widest instruction set
  recorded). The fitted compute efficiencies absorb what this assumption misses.
  Where a run records neither instruction sets nor clock, and it was measured on
  this host, ``/proc/cpuinfo`` fills them in (and the basis says so);
* memory: ``machine.ram_bytes``; power: the run's *measured* mean power (an
  estimate from a price profile is an assumption, not a figure of the machine).
"""

from __future__ import annotations

import platform
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.predict.roofline import HardwareSpec

__all__ = [
    "CPUINFO",
    "INT8_MACS_PER_CYCLE",
    "CpuFacts",
    "cpu_facts",
    "hardware_class_of",
    "int8_peak_tflops",
    "is_this_host",
    "local_hardware_id",
    "local_hardware_spec",
    "pooled_cpu_facts",
]

CPUINFO = Path("/proc/cpuinfo")
INT8_MACS_PER_CYCLE: dict[str, tuple[int, str]] = {
    "avx512_vnni": (64, ("one 512-bit VPDPBUSD per cycle (64 int8 MACs; AMD Zen 4 runs it on two 256-bit halves, "
                         "Intel parts with two 512-bit FMA ports can issue two)")),
    "avx_vnni": (64, "two 256-bit VPDPBUSD per cycle (2 x 32 int8 MACs)"),
    "avx2": (32, "two 256-bit VPMADDUBSW + VPMADDWD pairs per cycle (2 x 32 int8 MACs at two instructions each)"),
    "dotprod": (32, "two 128-bit SDOT per cycle (2 x 16 int8 MACs), as hardware.yaml's Raspberry Pi 5 entry"),
    "neon": (16, "two 128-bit NEON pipes without SDOT (about 2 x 8 int8 MACs through widening multiplies)"),
}  # fmt: skip
"""int8 multiply-accumulates per cycle per core, by widest instruction set, with the reasoning; first match wins."""
_SYSTEM_INFO_FLAGS = {"AVX512_VNNI": "avx512_vnni", "AVX_VNNI": "avx_vnni", "AVX2": "avx2", "DOTPROD": "dotprod",
                      "NEON": "neon"}  # fmt: skip
_CPUINFO_FLAGS = {"avx512_vnni": "avx512_vnni", "avx512vnni": "avx512_vnni", "avx_vnni": "avx_vnni", "avx2": "avx2",
                  "asimddp": "dotprod", "asimd": "neon"}  # fmt: skip
_X86 = ("x86_64", "amd64", "i686", "i386")
_ARM = ("aarch64", "arm64", "armv8l", "armv7l")


@dataclass(frozen=True)
class CpuFacts:
    """What the peak-compute assumption rests on.

    Attributes:
        isa: The widest key of :data:`INT8_MACS_PER_CYCLE` found, ``None`` when none.
        clock_mhz: CPU clock, MHz (``None`` when unknown).
        source: Where the two came from, in words.
    """

    isa: str | None
    clock_mhz: float | None
    source: str


def is_this_host(machine: dict[str, Any]) -> bool:
    """Whether a run's ``machine`` record names the host this process runs on."""
    return bool(machine.get("hostname")) and machine.get("hostname") == socket.gethostname()


def hardware_class_of(machine: dict[str, Any]) -> str:
    """``cpu-x86`` or ``cpu-arm`` from the recorded ``machine`` (``platform.machine()``).

    Raises:
        ValueError: an architecture the model has no class for (the message names it).
    """
    arch = str(machine.get("machine") or "").lower()
    if arch in _X86:
        return "cpu-x86"
    if arch in _ARM:
        return "cpu-arm"
    raise ValueError(f"machine architecture {arch or '(not recorded)'!r} is neither x86 ({', '.join(_X86)}) "
                     f"nor Arm ({', '.join(_ARM)}); the performance model has no CPU class for it")  # fmt: skip


def local_hardware_id(machine: dict[str, Any], threads: int) -> str:
    """``this-machine-Tt`` for a run of this host, ``host-NAME-Tt`` for one measured elsewhere."""
    prefix = "this-machine" if is_this_host(machine) else f"host-{machine.get('hostname') or 'unknown'}"
    return f"{prefix}-{threads}t"


def _widest(flags: set[str]) -> str | None:
    return next((isa for isa in INT8_MACS_PER_CYCLE if isa in flags), None)


def _cpuinfo() -> tuple[set[str], float | None]:
    """This host's instruction-set flags and clock (x86 ``cpu MHz``; Arm: cpufreq's maximum)."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return set(), None
    flags: set[str] = set()
    for match in re.finditer(r"^(?:flags|Features)\s*:\s*(.*)$", text, re.MULTILINE):
        flags |= {_CPUINFO_FLAGS[f] for f in match.group(1).split() if f in _CPUINFO_FLAGS}
    clocks = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.MULTILINE)]
    clock = max(clocks) if clocks else None
    if clock is None:
        try:
            clock = int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text()) / 1000
        except (OSError, ValueError):
            clock = None
    return flags, clock


def cpu_facts(meta: dict[str, Any]) -> CpuFacts:
    """Instruction set and clock of a run's machine: recorded first, this host's ``/proc/cpuinfo`` second."""
    system_info = str((meta.get("runtime") or {}).get("system_info") or "")
    recorded = {_SYSTEM_INFO_FLAGS[name] for name, on in re.findall(r"(\w+) = (\d)", system_info)
                if on == "1" and name in _SYSTEM_INFO_FLAGS}  # fmt: skip
    thermal = (meta.get("thermal") or {}).get("start") or {}
    clock = thermal.get("cpu_max_clock_mhz") or thermal.get("cpu_clock_mhz")
    isa = _widest(recorded)
    sources = []
    if isa:
        sources.append("instruction sets from the llama.cpp build's system_info")
    if clock:
        sources.append("clock from the run's thermal record")
    if (isa is None or not clock) and is_this_host(meta.get("machine") or {}):
        flags, host_clock = _cpuinfo()
        if isa is None and _widest(flags):
            isa = _widest(flags)
            sources.append(f"instruction sets from this host's {CPUINFO}")
        if not clock and host_clock:
            clock = host_clock
            sources.append(f"clock from this host's {CPUINFO}")
    return CpuFacts(isa, float(clock) if clock else None, "; ".join(sources) or "nothing recorded")


def pooled_cpu_facts(metas: list[dict[str, Any]]) -> CpuFacts:
    """One host's instruction set and clock from all its runs: the first that records each.

    A ``llama-server`` run records neither (the client cannot see the server's build); an
    in-process run of the same host does.
    """
    every = [cpu_facts(meta) for meta in metas]
    isa = next((f for f in every if f.isa), None)
    clock = next((f for f in every if f.clock_mhz), None)
    if isa is None and clock is None:
        return every[0] if every else CpuFacts(None, None, "nothing recorded")
    source = "; ".join(dict.fromkeys(f.source for f in (isa, clock) if f is not None))
    return CpuFacts(isa.isa if isa else None, clock.clock_mhz if clock else None, f"{source} (the host's runs pooled)")


def int8_peak_tflops(facts: CpuFacts, cores: int) -> tuple[float | None, str]:
    """The int8 dot-product peak of ``cores`` cores, in T(FL)OPS, and its derivation (``None`` when unknown)."""
    if facts.isa is None or not facts.clock_mhz:
        missing = "instruction set" if facts.isa is None else "clock"
        return None, f"peak compute unknown: no {missing} recorded ({facts.source})"
    macs, why = INT8_MACS_PER_CYCLE[facts.isa]
    peak = cores * facts.clock_mhz * 1e6 * macs * 2 / 1e12
    return peak, (f"peak {peak:.3f} TOPS = int8 dot-product peak assumed: {cores} cores x {facts.clock_mhz:.0f} MHz x "
                  f"{macs} int8 MACs/cycle ({facts.isa}: {why}) x 2 ops ({facts.source})")  # fmt: skip


def local_hardware_spec(meta: dict[str, Any], threads: int, bandwidth_gb_s: float | None = None,
                        facts: CpuFacts | None = None) -> HardwareSpec:  # fmt: skip
    """The figures of a run's machine at ``threads`` threads.

    Args:
        meta: The run's ``run.json``.
        threads: Threads the runtime used.
        bandwidth_gb_s: Bandwidth to use instead of this run's probe (the best probe of the host's runs), GB/s.
        facts: Instruction set and clock to use instead of this run's (the host's runs pooled).

    Raises:
        ValueError: the architecture is unknown, or no bandwidth is recorded (rerun the sweep: every sweep probes it).
    """
    machine = meta.get("machine") or {}
    hardware_id = local_hardware_id(machine, threads)
    probe = (machine.get("memory_bandwidth") or {}).get("gb_s")
    bandwidth = bandwidth_gb_s or probe
    if not bandwidth:
        raise ValueError("run.json machine.memory_bandwidth.gb_s is missing: sweep again with this benchlib (every "
                         "sweep probes the memory bandwidth) so the model has a bandwidth for this machine")  # fmt: skip
    cores = min(threads, int(machine.get("cpu_cores_physical") or threads))  # hyperthreads share a core's vector units
    peak, peak_basis = int8_peak_tflops(facts or cpu_facts(meta), cores)
    energy = (meta.get("summary") or {}).get("energy") or {}
    measured_power = energy.get("kind") == "measured" and energy.get("valid")
    power = energy.get("mean_power_w") if measured_power else None
    idle = energy.get("idle_power_w") if measured_power else None
    ram = machine.get("ram_bytes")
    power_basis = (f"power {power:.1f} W: the run's measured mean ({energy.get('source')})" if power
                   else "power unknown: no measured power source in the run (an estimate is not used)")  # fmt: skip
    basis = (f"{hardware_id}: {machine.get('cpu_model') or platform.processor() or 'CPU'} ({machine.get('machine')}) "
             f"at {threads} threads; bandwidth {bandwidth:.1f} GB/s = measured lower bound of peak (numpy copyto probe, "
             f"best of the host's runs); {peak_basis}; memory from machine.ram_bytes; {power_basis}")  # fmt: skip
    return HardwareSpec(
        name=hardware_id, hardware_class=hardware_class_of(machine), bandwidth_gb_s=float(bandwidth),
        peak_tflops=peak, memory_gb=ram / 1e9 if ram else None, power_w=power, idle_power_w=idle, basis=basis,
    )  # fmt: skip
