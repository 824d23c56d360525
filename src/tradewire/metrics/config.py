"""Configuration of the Prometheus endpoint."""

from __future__ import annotations

from pydantic import model_validator

from tradewire.configbase import Port, StrictModel
from tradewire.net.loopback import LOOPBACK_HOSTS


class MetricsConfig(StrictModel):
    """``GET http://host:port/metrics``. Loopback by default: metrics reveal positions and P&L.

    Any other ``host`` (``0.0.0.0`` binds every interface) needs ``allow_remote: true`` too,
    so it is never a silent typo; ``tradewire run`` then warns at start.
    """

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 9090
    allow_remote: bool = False

    @model_validator(mode="after")
    def _remote_is_explicit(self) -> MetricsConfig:
        if self.host not in LOOPBACK_HOSTS and not self.allow_remote:
            raise ValueError(
                f"host {self.host!r} is not loopback: metrics reveal positions and P&L; "
                "set allow_remote: true to serve them beyond this machine"
            )
        return self

    @property
    def remote(self) -> bool:
        return self.host not in LOOPBACK_HOSTS
