"""What counts as loopback, for every local HTTP endpoint (control, metrics).

One definition so the kill switch and ``/metrics`` refuse the same DNS-rebinding requests:
a page on ``evil.example`` whose name resolves to 127.0.0.1 reaches a loopback server from
the victim's browser, but its requests still carry ``Host: evil.example``.
"""

from __future__ import annotations

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def host_is_loopback(host_header: str) -> bool:
    """The Host header names a loopback address (DNS rebinding sends another name)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host in LOOPBACK_HOSTS
