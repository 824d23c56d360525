#!/usr/bin/env bash
# Make Debian's `prometheus` binary available for the scrape test; idempotent.
# The package's service is not started (no systemd here); the test runs its own server.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-prometheus: prometheus is not installed and we are not root; install Debian's 'prometheus' package" >&2
  exit 1
fi
echo "ensure-prometheus: installing Debian's prometheus package" >&2
export DEBIAN_FRONTEND=noninteractive
before="$(pgrep -x prometheus || true)"
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# A postinst may have started a server on :9090; the tests bring their own. Stop only a
# server this install started: a Prometheus the user already ran is not ours to kill.
for pid in $(pgrep -x prometheus || true); do
  case " $before " in *" $pid "*) ;; *) kill "$pid" 2>/dev/null || true ;; esac
done
command -v prometheus >/dev/null
