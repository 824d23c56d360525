"""Where a node connects and with which keys: sim, paper and live differ only here."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(slots=True)
class Venues:
    """Where to connect and with which keys (sim, paper or live differ only here)."""

    mode: str
    feed_url: str
    broker_url: str
    stream_url: str
    polygon_key: SecretStr | str
    alpaca_key: SecretStr | str
    alpaca_secret: SecretStr | str
    rest_url: str = "https://api.massive.com"  # Massive REST: option chains (issue 24)

    @classmethod
    def simulator(
        cls, feed_url: str, broker_url: str, stream_url: str, rest_url: str = ""
    ) -> Venues:
        """Our venue simulator's endpoints, with the fixed keys it accepts (never real ones);
        ``rest_url`` its Massive REST port (``""``: none, chains are then not fetched)."""
        return cls(
            "sim", feed_url, broker_url, stream_url, "test-key", "test-key", "test-secret", rest_url
        )

    def __post_init__(self) -> None:
        # Held as secrets whatever the caller passed: dataclasses.asdict() of the venue
        # settings, a repr or a log line must never show a key.
        for name in ("polygon_key", "alpaca_key", "alpaca_secret"):
            value = getattr(self, name)
            if not isinstance(value, SecretStr):
                setattr(self, name, SecretStr(value))

    def __repr__(self) -> str:
        return f"Venues(mode={self.mode!r}, feed={self.feed_url!r}, broker={self.broker_url!r})"
