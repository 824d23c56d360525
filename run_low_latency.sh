#!/usr/bin/env bash
# Tune this host for low latency (when run as root), then start `tradewire run`.
#
#   sudo ./run_low_latency.sh [--dry-run] [-- tradewire run arguments]
#
# Each step prints "applied", "skipped: <why>" or, with --dry-run, "would run: <command>".
# A step that cannot be done (not root, a container's read-only /sys, no cpufreq on a VM)
# is skipped and explained; it never stops the run. What needs a reboot (isolcpus,
# nohz_full, C-state limits on the kernel command line) is only reported: see
# `tradewire doctor`, which also prints the exact commands.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dry_run=0
if [ "${1:-}" = "--dry-run" ]; then dry_run=1; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi

is_root=0
[ "$(id -u)" = "0" ] && is_root=1
ncpu="$(getconf _NPROCESSORS_ONLN)"
# tradewire's automatic placement: CPU 0 for housekeeping (IRQs, simulator, journal syncer),
# the engine on the others; IRQs go to CPU 0.
if [ "$ncpu" -gt 2 ]; then engine_cpus="1-$((ncpu - 1))"; else engine_cpus=1; fi

step() {  # step NAME PRECONDITION-MESSAGE-OR-EMPTY COMMAND...
  local name="$1" why_not="$2"; shift 2
  if [ -n "$why_not" ]; then
    echo "tuning: $name: skipped: $why_not"
  elif [ "$dry_run" = 1 ]; then
    echo "tuning: $name: would run: $*"
  elif ( eval "$*" ) >/dev/null 2>&1; then
    echo "tuning: $name: applied"
  else
    echo "tuning: $name: skipped: '$*' failed (read-only /sys or /proc in a container?)"
  fi
}

need_root() { [ "$is_root" = 1 ] && echo "" || echo "not root (run with sudo)"; }
need_file() { [ -w "$1" ] || [ "$dry_run" = 1 ] && [ -e "$1" ] && echo "" || echo "$1 not present or not writable"; }
first_of() { local r; r="$(need_root)"; [ -n "$r" ] && echo "$r" || need_file "$1"; }

gov=/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor
step "cpu governor performance" "$(first_of "$gov")" \
  'for g in /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor; do echo performance > "$g"; done'

idle=/sys/devices/system/cpu/cpu0/cpuidle/state1/disable
step "disable deep C-states" "$(first_of "$idle")" \
  'for s in /sys/devices/system/cpu/cpu*/cpuidle/state[2-9]/disable; do echo 1 > "$s"; done'

thp=/sys/kernel/mm/transparent_hugepage/enabled
step "transparent huge pages never" "$(first_of "$thp")" \
  "echo never > $thp && echo never > /sys/kernel/mm/transparent_hugepage/defrag"

step "net.core.busy_read/busy_poll 50 us" "$(first_of /proc/sys/net/core/busy_read)" \
  "sysctl -w net.core.busy_read=50 net.core.busy_poll=50"

step "vm.swappiness 1" "$(first_of /proc/sys/vm/swappiness)" "sysctl -w vm.swappiness=1"

irq_why="$(need_root)"
if [ -z "$irq_why" ] && pgrep -x irqbalance >/dev/null 2>&1; then
  irq_why="irqbalance is running and would undo it (systemctl stop irqbalance first)"
fi
if [ -z "$irq_why" ] && [ "$ncpu" -lt 2 ]; then irq_why="only one CPU"; fi
step "IRQs off engine CPUs $engine_cpus (to CPU 0)" "$irq_why" \
  "for f in /proc/irq/*/smp_affinity_list; do echo 0 > \"\$f\" 2>/dev/null || true; done"

if [ "$dry_run" = 1 ]; then
  echo "tuning: memlock unlimited (for tuning.mlockall): would run: ulimit -l unlimited"
elif ulimit -l unlimited 2>/dev/null; then
  echo "tuning: memlock unlimited (for tuning.mlockall): applied"
else
  echo "tuning: memlock unlimited (for tuning.mlockall): skipped: raising the hard limit ($(ulimit -Hl) KiB) was refused; set 'memlock unlimited' in /etc/security/limits.conf or the container's ulimits"
fi

echo "tuning: isolcpus/nohz_full/C-state boot limits: reported only (need a reboot): see 'tradewire doctor'"
if [ "$dry_run" = 1 ]; then
  echo "run_low_latency: dry run; would start: $here/run.sh $*"
  exit 0
fi
exec "$here/run.sh" "$@"
