"""Apply the process-level settings of :class:`TuningConfig` and say what happened.

Order matters: placement and scheduling first (before the engine allocates and connects),
the GC policy after start-up (so ``gc.freeze`` covers what start-up allocated).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from tradewire.tuning.config import TuningConfig
from tradewire.tuning.outcome import Outcome, os_error

MCL_CURRENT, MCL_FUTURE = 1, 2


@dataclass(frozen=True, slots=True)
class CpuPlan:
    """Which CPUs each role gets; empty = leave as is."""

    engine: frozenset[int]
    simulator: frozenset[int]
    housekeeping: frozenset[int]


def plan_cpus(available: Iterable[int], cfg: TuningConfig, *, local_simulator: bool) -> CpuPlan:
    """Explicit CPUs from the config win; otherwise the simulator and helpers share the first
    CPU and the engine has the others (a blocking wake-up across CPUs costs less than sharing
    a CPU with the simulator: 404 -> 44 µs, docs/performance.md). The first, because CPU 0 is
    where the kernel keeps housekeeping and IRQs by convention, and the one a host cannot
    isolate: `tradewire doctor` and run_low_latency.sh assume this layout."""
    cpus = sorted(available)
    auto_rest = frozenset(cpus[:1]) if len(cpus) >= 2 else frozenset()
    auto_engine = frozenset(cpus[1:]) if len(cpus) >= 2 else frozenset()
    engine = frozenset(cfg.engine_cpus) or auto_engine
    simulator = frozenset(cfg.simulator_cpus) or (auto_rest if local_simulator else frozenset())
    housekeeping = frozenset(cfg.housekeeping_cpus) or auto_rest
    return CpuPlan(engine, simulator, housekeeping)


def set_affinity(pid: int, cpus: frozenset[int], role: str) -> Outcome:
    if not cpus:
        return Outcome(f"cpu affinity {role}", "off", "fewer than 2 CPUs or not configured")
    try:
        os.sched_setaffinity(pid, cpus)
    except OSError as exc:
        return Outcome(f"cpu affinity {role} {sorted(cpus)}", "denied", os_error(exc))
    return Outcome(f"cpu affinity {role}", "applied", f"CPUs {sorted(cpus)}")


def apply_scheduling(cfg: TuningConfig) -> list[Outcome]:
    """nice, SCHED_FIFO, mlockall and the GIL switch interval for this process."""
    out: list[Outcome] = []
    if cfg.nice is None:
        out.append(Outcome("nice", "off"))
    else:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, cfg.nice)
            out.append(Outcome(f"nice {cfg.nice}", "applied"))
        except OSError as exc:
            out.append(Outcome(f"nice {cfg.nice}", "denied", os_error(exc)))
    if not cfg.sched_fifo:
        out.append(Outcome("SCHED_FIFO", "off"))
    else:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(cfg.sched_fifo_priority))
            detail = f"priority {cfg.sched_fifo_priority}"
            if cfg.busy_poll:
                # A busy-polling RT task owns its CPU; the kernel's RT throttling
                # (sched_rt_runtime_us) is then all that lets others run there.
                detail += "; with busy_poll the CPU is not shared: keep other work off it"
            out.append(Outcome("SCHED_FIFO", "applied", detail))
        except OSError as exc:
            out.append(Outcome("SCHED_FIFO", "denied", os_error(exc)))
    if not cfg.mlockall:
        out.append(Outcome("mlockall", "off"))
    else:
        out.append(_mlockall())
    if cfg.gil_switch_interval_us is None:
        out.append(Outcome("GIL switch interval", "off", f"{sys.getswitchinterval() * 1e6:.0f} µs"))
    else:
        sys.setswitchinterval(cfg.gil_switch_interval_us / 1e6)
        out.append(Outcome("GIL switch interval", "applied", f"{cfg.gil_switch_interval_us} µs"))
    return out


def _mlockall() -> Outcome:
    # Page faults on the hot path cost microseconds each; locked memory has none.
    name = ctypes.util.find_library("c")
    if name is None:
        return Outcome("mlockall", "denied", "libc not found")
    libc = ctypes.CDLL(name, use_errno=True)
    if libc.mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
        err = ctypes.get_errno()
        return Outcome("mlockall", "denied", os_error(OSError(err, os.strerror(err))))
    return Outcome("mlockall", "applied", "current and future pages")


def apply_gc(cfg: TuningConfig) -> list[Outcome]:
    """The GC policy, once start-up is done."""
    out: list[Outcome] = []
    if cfg.gc_thresholds is not None:
        gc.set_threshold(*cfg.gc_thresholds)
        out.append(Outcome("gc thresholds", "applied", str(tuple(cfg.gc_thresholds))))
    if cfg.gc == "default":
        out.append(Outcome("gc", "off", "default collector"))
    elif cfg.gc == "freeze":
        gc.collect()
        gc.freeze()
        out.append(Outcome("gc freeze", "applied", f"{gc.get_freeze_count()} objects frozen"))
    else:
        gc.collect()
        gc.freeze()
        gc.disable()
        out.append(Outcome("gc disabled", "applied", "automatic collection off; cycles leak"))
    return out
