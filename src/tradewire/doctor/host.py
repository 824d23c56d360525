"""Read the host files the checks need; a missing or unreadable file is ``None``, not an error."""

from __future__ import annotations

import glob
import os
import platform
import resource
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tradewire.doctor import checks as c


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return None


def _cpu_index(path: str) -> int:
    return int(path.split("/cpu")[-1].split("/")[0])


def _steal_ticks(stat: str | None) -> int | None:
    for line in (stat or "").splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu" and len(parts) > 8:
            return int(parts[8])
    return None


def _virt() -> str | None:
    tool = shutil.which("systemd-detect-virt")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool], capture_output=True, text=True, timeout=5, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _irqbalance_running() -> bool:
    for comm in glob.glob("/proc/[0-9]*/comm"):
        if (_read(comm) or "").strip() == "irqbalance":
            return True
    return False


def audit(engine_cpus: set[int] | None = None) -> tuple[dict[str, Any], list[c.Finding]]:
    """Facts about the host and every finding, in a stable order."""
    ncpus = os.cpu_count() or 1
    # The automatic placement (tuning/process.py plan_cpus): the engine on every CPU but 0.
    engine = engine_cpus if engine_cpus is not None else set(range(1, ncpus))
    governors = {
        _cpu_index(p): _read(p) or ""
        for p in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor")
    }
    states = []
    for d in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cpuidle/state[0-9]*")):
        name = (_read(f"{d}/name") or "?").strip()
        latency = int((_read(f"{d}/latency") or "0").strip() or 0)
        disabled = (_read(f"{d}/disable") or "0").strip() == "1"
        states.append((name, latency, disabled))
    cmdline = _read("/proc/cmdline")
    soft_lock, hard_lock = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    rtprio = resource.getrlimit(resource.RLIMIT_RTPRIO)[0]
    irqs = {
        p.split("/")[3]: (_read(p) or "").strip()
        for p in glob.glob("/proc/irq/[0-9]*/smp_affinity_list")
    }
    nodes = sorted(os.path.basename(p) for p in glob.glob("/sys/devices/system/node/node[0-9]*"))
    cs = "/sys/devices/system/clocksource/clocksource0"
    virt = _virt()
    findings = [
        c.check_governor(governors),
        c.check_cstates(states, cmdline),
        c.check_isolation(
            cmdline,
            _read("/sys/devices/system/cpu/isolated"),
            _read("/sys/devices/system/cpu/nohz_full"),
            ncpus,
            engine,
        ),
        c.check_thp(
            _read("/sys/kernel/mm/transparent_hugepage/enabled"),
            _read("/sys/kernel/mm/transparent_hugepage/defrag"),
        ),
        c.check_hugepages(_read("/proc/meminfo")),
        c.check_numa(nodes),
        c.check_memlock(soft_lock, hard_lock),
        c.check_realtime(rtprio, os.geteuid(), _read("/proc/sys/kernel/sched_rt_runtime_us")),
        c.check_clocksource(
            _read(f"{cs}/current_clocksource"), _read(f"{cs}/available_clocksource")
        ),
        c.check_irq_affinity(irqs, engine, _irqbalance_running(), ncpus),
        c.check_virtualisation(_read("/proc/cpuinfo"), virt, _steal_ticks(_read("/proc/stat"))),
        c.check_busy_poll(
            _read("/proc/sys/net/core/busy_read"), _read("/proc/sys/net/core/busy_poll")
        ),
        c.check_swappiness(_read("/proc/sys/vm/swappiness")),
    ]
    facts = {
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cpus": ncpus,
        "allowed_cpus": sorted(os.sched_getaffinity(0)),
        "engine_cpus_assumed": sorted(engine),
        "virtualisation": virt,
        "euid": os.geteuid(),
    }
    return facts, findings
