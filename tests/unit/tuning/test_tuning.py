"""Tuning settings: the plan is pure; each OS setting reports exactly what the OS did."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from tradewire.tuning.config import TuningConfig
from tradewire.tuning.process import plan_cpus
from tradewire.tuning.sockets import SocketOptions


def test_plan_cpus_with_two_cpus_and_a_local_simulator_keeps_them_apart():
    plan = plan_cpus([0, 1], TuningConfig(), local_simulator=True)
    assert (plan.engine, plan.simulator, plan.housekeeping) == ({1}, {0}, {0})


def test_plan_cpus_without_a_simulator_leaves_cpu_0_to_housekeeping():
    plan = plan_cpus([0, 1, 2, 3], TuningConfig(), local_simulator=False)
    assert (plan.engine, plan.simulator, plan.housekeeping) == ({1, 2, 3}, set(), {0})


def test_plan_cpus_with_one_cpu_plans_nothing():
    plan = plan_cpus([0], TuningConfig(), local_simulator=True)
    assert (plan.engine, plan.simulator, plan.housekeeping) == (set(), set(), set())


def test_plan_cpus_explicit_config_wins():
    cfg = TuningConfig(engine_cpus=[2], simulator_cpus=[3], housekeeping_cpus=[0, 1])
    plan = plan_cpus([0, 1, 2, 3], cfg, local_simulator=True)
    assert (plan.engine, plan.simulator, plan.housekeeping) == ({2}, {3}, {0, 1})


def test_tuning_config_rejects_out_of_range_values():
    with pytest.raises(ValueError, match="nice"):
        TuningConfig(nice=-40)
    with pytest.raises(ValueError, match="gc"):
        TuningConfig(gc="sometimes")  # type: ignore[arg-type]


def test_socket_options_report_what_the_kernel_did():
    # Arrange
    server = socket.create_server(("127.0.0.1", 0))
    sock = socket.create_connection(server.getsockname())
    try:
        # Act
        outcomes = SocketOptions(tcp_nodelay=True, so_rcvbuf=65536, so_busy_poll_us=50).apply(sock)
        by_name = {o.setting.split("=")[0]: o for o in outcomes}

        # Assert: each applied option is really set; a denied one says why.
        assert by_name["socket TCP_NODELAY"].status == "applied"
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert by_name["socket SO_RCVBUF"].status == "applied"
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 65536
        busy = by_name["socket SO_BUSY_POLL"]
        if busy.status == "applied":
            assert sock.getsockopt(socket.SOL_SOCKET, 46) == 50
        else:
            assert busy.status == "denied"
            assert busy.detail
    finally:
        sock.close()
        server.close()


_PROBE = """
import gc, json, os, sys
from tradewire.tuning.config import TuningConfig
from tradewire.tuning.process import apply_gc, apply_scheduling
cfg = TuningConfig(**json.loads(sys.argv[1]))
outcomes = apply_scheduling(cfg) + apply_gc(cfg)
status = open("/proc/self/status").read()
locked_kb = int(next(l for l in status.splitlines() if l.startswith("VmLck")).split()[1])
print(json.dumps({
    "outcomes": {o.setting: [o.status, o.detail] for o in outcomes},
    "nice": os.getpriority(os.PRIO_PROCESS, 0),
    "fifo": os.sched_getscheduler(0) == os.SCHED_FIFO,
    "locked_kb": locked_kb,
    "frozen": gc.get_freeze_count(),
    "gc_enabled": gc.isenabled(),
    "switch_us": round(sys.getswitchinterval() * 1e6),
}))
"""


def _probe(**settings: object) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(settings)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_scheduling_settings_match_the_process_state_they_report():
    got = _probe(nice=5, sched_fifo=True, mlockall=True, gil_switch_interval_us=200, gc="freeze")
    o = got["outcomes"]
    # Raising nice is always allowed.
    assert o["nice 5"][0] == "applied"
    assert got["nice"] == 5
    # SCHED_FIFO and mlockall depend on privileges: whatever was reported is what happened.
    assert (o["SCHED_FIFO"][0] == "applied") == got["fifo"]
    assert o["SCHED_FIFO"][0] == "applied" or o["SCHED_FIFO"][1]
    assert (o["mlockall"][0] == "applied") == (got["locked_kb"] > 0)
    assert o["GIL switch interval"][0] == "applied"
    assert got["switch_us"] == 200
    assert o["gc freeze"][0] == "applied"
    assert got["frozen"] > 0
    assert got["gc_enabled"]


def test_gc_disabled_and_defaults_are_reported():
    off = _probe(gc="disabled")
    assert off["outcomes"]["gc disabled"][0] == "applied"
    assert not off["gc_enabled"]
    default = _probe(gc="default")
    assert default["outcomes"]["gc"][0] == "off"
    assert default["frozen"] == 0
    assert default["outcomes"]["SCHED_FIFO"][0] == "off"
    assert not default["fifo"]
