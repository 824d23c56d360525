"""Host checks for low-latency trading, as pure functions of what the host files say.

Each check takes the text of the files it needs (``None`` when a file is absent) and returns
a :class:`Finding` with what it saw, why it matters and the exact command that fixes it.
:mod:`tradewire.doctor.host` reads the files; tests feed strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["ok", "warn", "info", "unknown"]


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    title: str
    status: Status
    observed: str
    why: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_cpu_list(text: str | None) -> set[int]:
    """``"0-2,5"`` → {0, 1, 2, 5}; empty or None → empty."""
    cpus: set[int] = set()
    for part in (text or "").strip().split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            cpus.update(range(int(lo), int(hi) + 1))
        else:
            cpus.add(int(part))
    return cpus


def format_cpu_list(cpus: set[int]) -> str:
    """{1, 2, 3, 5} → ``"1-3,5"``, the kernel's own notation."""
    runs: list[str] = []
    for cpu in sorted(cpus):
        if runs and cpu == int(runs[-1].split("-")[-1]) + 1:
            runs[-1] = f"{runs[-1].split('-')[0]}-{cpu}"
        else:
            runs.append(str(cpu))
    return ",".join(runs)


def _cmdline_value(cmdline: str | None, key: str) -> str | None:
    for token in (cmdline or "").split():
        if token.startswith(f"{key}="):
            return token.split("=", 1)[1]
    return None


def _selected(text: str | None) -> str | None:
    # sysfs marks the active choice with brackets: "always [madvise] never".
    match = re.search(r"\[(\w[\w+]*)\]", text or "")
    return match.group(1) if match else None


def check_governor(governors: Mapping[int, str]) -> Finding:
    why = "powersave/ondemand governors ramp the clock down between bursts: the first tick after idle runs slow"
    fix = "sudo cpupower frequency-set -g performance"
    if not governors:
        return Finding(
            "cpu_governor",
            "CPU frequency governor",
            "info",
            "no cpufreq (virtual machine or fixed clock)",
            why,
        )
    bad = {cpu: g for cpu, g in governors.items() if g.strip() != "performance"}
    observed = ", ".join(f"cpu{c}={g.strip()}" for c, g in sorted(governors.items()))
    return Finding(
        "cpu_governor",
        "CPU frequency governor",
        "warn" if bad else "ok",
        observed,
        why,
        fix if bad else "",
    )


def check_cstates(states: Sequence[tuple[str, int, bool]], cmdline: str | None) -> Finding:
    """``states``: (name, exit latency µs, disabled) of cpu0's idle states."""
    why = "waking from a deep C-state costs tens to hundreds of µs on the first packet after idle"
    fix = (
        "add 'intel_idle.max_cstate=1 processor.max_cstate=1 idle=poll' to GRUB_CMDLINE_LINUX in "
        "/etc/default/grub, then sudo update-grub && reboot (or per boot: sudo cpupower idle-set -D 10)"
    )
    limit = _cmdline_value(cmdline, "intel_idle.max_cstate") or _cmdline_value(
        cmdline, "processor.max_cstate"
    )
    if "idle=poll" in (cmdline or "").split():
        return Finding(
            "cstates", "CPU idle states", "ok", "idle=poll on the kernel command line", why
        )
    if not states:
        observed = "no cpuidle states exposed" + (f"; max_cstate={limit}" if limit else "")
        return Finding("cstates", "CPU idle states", "info", observed, why)
    deep = [(n, lat) for n, lat, disabled in states if not disabled and lat > 10]
    observed = ", ".join(f"{n}({lat}µs{' off' if d else ''})" for n, lat, d in states)
    return Finding(
        "cstates", "CPU idle states", "warn" if deep else "ok", observed, why, fix if deep else ""
    )


def check_isolation(
    cmdline: str | None,
    isolated: str | None,
    nohz_full: str | None,
    ncpus: int,
    engine_cpus: set[int],
) -> Finding:
    why = "without isolcpus/nohz_full the scheduler and the timer tick share the engine's core with everything else"
    # CPU 0 stays the housekeeping CPU (IRQs, timekeeping, the simulator and journal syncer);
    # tradewire's automatic placement already runs the engine on the others.
    cpus = format_cpu_list(engine_cpus)
    fix = (
        f"add 'isolcpus={cpus} nohz_full={cpus} rcu_nocbs={cpus}' to GRUB_CMDLINE_LINUX in "
        f"/etc/default/grub, sudo update-grub, reboot (tradewire's engine runs on CPUs {cpus})"
    )
    iso, nohz = parse_cpu_list(isolated), parse_cpu_list(nohz_full)
    rcu = _cmdline_value(cmdline, "rcu_nocbs")
    observed = f"isolated={sorted(iso) or 'none'} nohz_full={sorted(nohz) or 'none'} rcu_nocbs={rcu or 'none'}"
    if ncpus < 2:
        return Finding(
            "cpu_isolation", "Isolated CPUs", "info", observed + " (1 CPU: nothing to isolate)", why
        )
    return Finding(
        "cpu_isolation",
        "Isolated CPUs",
        "ok" if iso and nohz else "warn",
        observed,
        why,
        "" if iso and nohz else fix,
    )


def check_thp(enabled: str | None, defrag: str | None) -> Finding:
    why = "THP 'always' lets khugepaged compact memory and stall the process for ms"
    fix = "echo never | sudo tee /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag"
    mode, dmode = _selected(enabled), _selected(defrag)
    if mode is None:
        return Finding("thp", "Transparent huge pages", "unknown", "not exposed", why)
    observed = f"enabled={mode} defrag={dmode}"
    ok = mode in ("never", "madvise") and dmode in (
        None,
        "never",
        "madvise",
        "defer",
        "defer+madvise",
    )
    return Finding(
        "thp", "Transparent huge pages", "ok" if ok else "warn", observed, why, "" if ok else fix
    )


def check_hugepages(meminfo: str | None) -> Finding:
    why = "explicit huge pages cut TLB misses for large order books; optional for tradewire's small heap"
    match = re.search(r"HugePages_Total:\s+(\d+)", meminfo or "")
    if match is None:
        return Finding(
            "hugepages", "Huge pages", "unknown", "no HugePages_Total in /proc/meminfo", why
        )
    total = int(match.group(1))
    return Finding(
        "hugepages",
        "Huge pages",
        "info",
        f"{total} reserved",
        why,
        "" if total else "echo 128 | sudo tee /proc/sys/vm/nr_hugepages",
    )


def check_numa(nodes: Sequence[str]) -> Finding:
    why = "on several NUMA nodes, keep the engine, its memory and the NIC on one node"
    fix = "numactl --cpunodebind=0 --membind=0 ./run.sh   (the NIC's node: cat /sys/class/net/<if>/device/numa_node)"
    if len(nodes) <= 1:
        return Finding("numa", "NUMA nodes", "ok", f"{len(nodes) or 1} node", why)
    return Finding(
        "numa", "NUMA nodes", "warn", f"{len(nodes)} nodes: {', '.join(nodes)}", why, fix
    )


def check_memlock(soft: int, hard: int) -> Finding:
    why = "tuning.mlockall needs a memlock limit above the process size (page faults on the hot path cost µs)"
    fix = "ulimit -l unlimited   (permanent: '* - memlock unlimited' in /etc/security/limits.conf)"
    unlimited = -1

    def fmt(v: int) -> str:
        return "unlimited" if v == unlimited else f"{v // 1024} KiB"

    ok = soft == unlimited or soft >= 1 << 30
    return Finding(
        "memlock",
        "Locked-memory limit",
        "ok" if ok else "warn",
        f"soft {fmt(soft)}, hard {fmt(hard)}",
        why,
        "" if ok else fix,
    )


def check_realtime(rtprio_soft: int, euid: int, rt_runtime_us: str | None) -> Finding:
    why = "SCHED_FIFO (tuning.sched_fifo) needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO; RT throttling caps it"
    fix = "run as root, or 'user - rtprio 50' in /etc/security/limits.conf (log in again)"
    runtime = (rt_runtime_us or "").strip()
    observed = f"euid={euid} rtprio limit={rtprio_soft} sched_rt_runtime_us={runtime or '?'}"
    allowed = euid == 0 or rtprio_soft > 0
    return Finding(
        "realtime",
        "Real-time scheduling",
        "ok" if allowed else "warn",
        observed,
        why,
        "" if allowed else fix,
    )


def check_clocksource(current: str | None, available: str | None) -> Finding:
    why = "time.perf_counter_ns reads the clocksource on every stamp: tsc is ~20 ns, hpet/acpi_pm are µs"
    fix = "echo tsc | sudo tee /sys/devices/system/clocksource/clocksource0/current_clocksource (if 'tsc' is available)"
    cur = (current or "").strip()
    if not cur:
        return Finding("clocksource", "Clock source", "unknown", "not exposed", why)
    ok = cur == "tsc"
    observed = f"{cur} (available: {(available or '').strip()})"
    return Finding(
        "clocksource", "Clock source", "ok" if ok else "warn", observed, why, "" if ok else fix
    )


def check_irq_affinity(
    irq_affinity: Mapping[str, str], engine_cpus: set[int], irqbalance: bool, ncpus: int
) -> Finding:
    why = "interrupts on the engine's CPU preempt the hot path; irqbalance moves them back"
    spare = sorted(set(range(ncpus)) - engine_cpus)
    target = ",".join(map(str, spare)) or "<a CPU that is not the engine's>"
    fix = (
        "sudo systemctl stop irqbalance; for f in /proc/irq/*/smp_affinity_list; do "
        f"echo {target} | sudo tee $f; done"
    )
    if not irq_affinity:
        return Finding("irq_affinity", "IRQ affinity", "unknown", "no /proc/irq", why)
    hitting = sorted(
        irq for irq, cpus in irq_affinity.items() if parse_cpu_list(cpus) & engine_cpus
    )
    observed = (
        f"{len(hitting)} of {len(irq_affinity)} IRQs may run on engine CPUs {sorted(engine_cpus)}"
    )
    if irqbalance:
        observed += "; irqbalance is running"
    bad = bool(hitting) or irqbalance
    return Finding(
        "irq_affinity", "IRQ affinity", "warn" if bad else "ok", observed, why, fix if bad else ""
    )


def check_virtualisation(cpuinfo: str | None, virt: str | None, steal_ticks: int | None) -> Finding:
    why = "a vCPU can be descheduled by the host (steal time): ms outliers no guest setting removes"
    flagged = " hypervisor" in f" {cpuinfo or ''}".replace("\n", " ").replace("\t", " ")
    kind = (virt or "").strip()
    if not flagged and kind in ("", "none"):
        return Finding("virtualisation", "Virtualisation", "ok", "bare metal", why)
    seen = [f"systemd-detect-virt: {kind}"] if kind not in ("", "none") else []
    if flagged:
        seen.append("hypervisor flag in /proc/cpuinfo")
    observed = f"virtualised ({'; '.join(seen)})"
    if steal_ticks is not None:
        observed += f"; steal time so far {steal_ticks} ticks"
    return Finding(
        "virtualisation",
        "Virtualisation",
        "warn",
        observed,
        why,
        "use dedicated (pinned, not overcommitted) vCPUs or bare metal for production latency",
    )


def check_busy_poll(busy_read: str | None, busy_poll: str | None) -> Finding:
    why = "net.core.busy_read/busy_poll let blocking socket reads spin in the driver (tuning.so_busy_poll_us needs them)"
    fix = "sudo sysctl -w net.core.busy_read=50 net.core.busy_poll=50"
    if busy_read is None or busy_poll is None:
        return Finding(
            "net_busy_poll", "Socket busy polling", "unknown", "sysctls not exposed", why
        )
    observed = f"busy_read={busy_read.strip()} busy_poll={busy_poll.strip()}"
    on = busy_read.strip() not in ("", "0")
    return Finding(
        "net_busy_poll",
        "Socket busy polling",
        "ok" if on else "info",
        observed,
        why,
        "" if on else fix,
    )


def check_swappiness(swappiness: str | None) -> Finding:
    why = "a swapped-out page on the hot path costs ms; low swappiness (or mlockall) keeps it resident"
    value = (swappiness or "").strip()
    if not value.isdigit():
        return Finding("swappiness", "Swappiness", "unknown", "not exposed", why)
    ok = int(value) <= 10
    return Finding(
        "swappiness",
        "Swappiness",
        "ok" if ok else "info",
        value,
        why,
        "" if ok else "sudo sysctl -w vm.swappiness=1",
    )


def summarize(findings: Sequence[Finding]) -> dict[str, int]:
    counts = {"ok": 0, "warn": 0, "info": 0, "unknown": 0}
    for f in findings:
        counts[f.status] += 1
    return counts
