"""Configuration of the Prometheus endpoint."""

from __future__ import annotations

from tradewire.configbase import Port, StrictModel


class MetricsConfig(StrictModel):
    """``GET http://host:port/metrics``. Loopback by default: metrics reveal positions."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 9090
