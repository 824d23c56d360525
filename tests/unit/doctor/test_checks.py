"""Host checks, fed the text real hosts put in /proc and /sys."""

from __future__ import annotations

import pytest

from tradewire.doctor import checks as c


def test_parse_cpu_list_handles_ranges_and_blanks():
    assert c.parse_cpu_list("0-2,5") == {0, 1, 2, 5}
    assert c.parse_cpu_list("\n") == set()
    assert c.parse_cpu_list(None) == set()


def test_governor_powersave_warns_with_cpupower_fix():
    f = c.check_governor({0: "powersave\n", 1: "performance\n"})
    assert f.status == "warn"
    assert "cpu0=powersave" in f.observed
    assert f.fix == "sudo cpupower frequency-set -g performance"
    assert c.check_governor({0: "performance\n"}).status == "ok"
    assert c.check_governor({}).status == "info"


def test_cstates_deep_enabled_states_warn_and_idle_poll_is_ok():
    states = [("POLL", 0, False), ("C1", 2, False), ("C6", 133, False)]
    f = c.check_cstates(states, "quiet splash")
    assert f.status == "warn"
    assert "C6(133µs)" in f.observed
    assert "max_cstate=1" in f.fix
    assert c.check_cstates([("POLL", 0, False), ("C6", 133, True)], "").status == "ok"
    assert c.check_cstates(states, "quiet idle=poll").status == "ok"


def test_isolation_needs_isolcpus_and_nohz_full_on_the_engine_cpus():
    f = c.check_isolation("quiet", "\n", None, 4, {1, 2, 3})
    assert f.status == "warn"
    assert "isolcpus=1-3 nohz_full=1-3 rcu_nocbs=1-3" in f.fix
    ok = c.check_isolation("isolcpus=3 nohz_full=3 rcu_nocbs=3", "3\n", "3\n", 4, {3})
    assert ok.status == "ok"
    assert "rcu_nocbs=3" in ok.observed


@pytest.mark.parametrize(
    ("enabled", "status"),
    [
        ("[always] madvise never", "warn"),
        ("always [madvise] never", "ok"),
        ("always madvise [never]", "ok"),
    ],
)
def test_thp_reads_the_bracketed_choice(enabled, status):
    assert c.check_thp(enabled, "always defer defer+madvise [madvise] never").status == status


def test_memlock_unlimited_is_ok_and_8mib_warns():
    assert c.check_memlock(-1, -1).status == "ok"
    f = c.check_memlock(8 << 20, 8 << 20)
    assert f.status == "warn"
    assert "8192 KiB" in f.observed
    assert "ulimit -l unlimited" in f.fix


def test_realtime_allowed_for_root_or_rtprio():
    assert c.check_realtime(0, 0, "950000\n").status == "ok"
    assert c.check_realtime(50, 1000, "950000\n").status == "ok"
    assert c.check_realtime(0, 1000, "950000\n").status == "warn"


def test_clocksource_tsc_ok_hpet_warns():
    assert c.check_clocksource("tsc\n", "tsc hpet acpi_pm\n").status == "ok"
    f = c.check_clocksource("hpet\n", "tsc hpet acpi_pm\n")
    assert f.status == "warn"
    assert "echo tsc" in f.fix


def test_cpu_lists_round_trip_in_kernel_notation():
    assert c.format_cpu_list({1, 2, 3, 5}) == "1-3,5"
    assert c.format_cpu_list({0}) == "0"
    assert c.parse_cpu_list(c.format_cpu_list({0, 2, 3, 4, 7, 8})) == {0, 2, 3, 4, 7, 8}


def test_irq_affinity_counts_irqs_on_engine_cpus_and_names_a_spare_cpu():
    irqs = {"24": "0-1", "25": "1", "26": "0"}
    f = c.check_irq_affinity(irqs, {0}, irqbalance=False, ncpus=2)
    assert f.status == "warn"
    assert f.observed.startswith("2 of 3 IRQs")
    assert "echo 1 |" in f.fix
    assert c.check_irq_affinity({"25": "1"}, {0}, irqbalance=False, ncpus=2).status == "ok"
    assert c.check_irq_affinity({"25": "1"}, {0}, irqbalance=True, ncpus=2).status == "warn"


def test_virtualisation_from_cpuinfo_flag_and_detect_virt():
    cpuinfo = "flags\t\t: fpu vme de pse tsc msr pae hypervisor lahf_lm\n"
    f = c.check_virtualisation(cpuinfo, "kvm", 12)
    assert f.status == "warn"
    assert "kvm" in f.observed
    assert "steal time so far 12 ticks" in f.observed
    assert c.check_virtualisation("flags : fpu tsc\n", "none", 0).status == "ok"


def test_busy_poll_swappiness_numa_hugepages():
    assert c.check_busy_poll("0\n", "0\n").status == "info"
    assert c.check_busy_poll("50\n", "50\n").status == "ok"
    assert c.check_swappiness("60\n").fix == "sudo sysctl -w vm.swappiness=1"
    assert c.check_swappiness("1\n").status == "ok"
    assert c.check_numa(["node0", "node1"]).status == "warn"
    assert c.check_hugepages("HugePages_Total:       0\n").observed == "0 reserved"


def test_summarize_counts_every_status():
    findings = [c.check_swappiness("1"), c.check_swappiness("60"), c.check_thp(None, None)]
    assert c.summarize(findings) == {"ok": 1, "warn": 0, "info": 1, "unknown": 1}
