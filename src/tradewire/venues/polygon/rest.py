"""A small Massive REST client for options: the chain snapshot and the contracts list.

::

    async with MassiveRestClient(key) as rest:          # base_url: the simulator's rest=
        chain = await rest.option_chain("SPY", contract_type="put", strike_gte=380)
        puts = await rest.options_contracts("SPY", expiration_date=date(2026, 7, 31))

Both follow ``next_url`` to the last page, at most ``max_pages`` of them (more is a
:class:`~tradewire.errors.MarketDataError`, never a silently cut chain). The key travels in the
``Authorization: Bearer`` header only, never in a URL; a ``next_url`` is requested on this
client's own ``base_url`` (its path and query only, as the ``massive`` SDK does), so the key
never goes to another host. No repr, log line or error message contains the key. Parsing is
sans-I/O in :mod:`tradewire.venues.polygon.options_rest`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr

from tradewire.engine.options import OptionContract
from tradewire.errors import MarketDataError
from tradewire.venues.polygon.options_rest import (
    ChainEntry,
    parse_chain_page,
    parse_contracts_page,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.massive.com"
SNAPSHOT_LIMIT = 250  # the chain snapshot's maximum page
CONTRACTS_LIMIT = 1000  # the contracts list's maximum page

_T = TypeVar("_T")
Params = Mapping[str, str | int | float | Decimal | date | None]


def _query(params: Params) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, date):
            out[name] = value.isoformat()
        elif isinstance(value, bool):
            out[name] = str(value).lower()
        else:
            out[name] = str(value)
    return out


class MassiveRestClient:
    """Massive's options REST endpoints over aiohttp. Use as ``async with``, or :meth:`close`.

    Args:
        api_key: the Massive (Polygon) key; kept as a ``SecretStr``.
        base_url: ``https://api.massive.com``, or the simulator's ``rest=`` URL.
        timeout_s: per request.
        max_pages: the most pages one call follows.
    """

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 10.0,
        max_pages: int = 100,
    ) -> None:
        self._key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        if not self._key.get_secret_value():
            raise MarketDataError("Massive REST: no API key given")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MarketDataError(f"Massive REST: base_url {base_url[:80]!r} is not http(s)://")
        self.base_url = f"{parts.scheme}://{parts.netloc}"
        self.timeout_s = timeout_s
        self.max_pages = max(1, max_pages)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"MassiveRestClient(base_url={self.base_url!r}, max_pages={self.max_pages})"

    async def __aenter__(self) -> MassiveRestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={
                    "Authorization": f"Bearer {self._key.get_secret_value()}",
                    "User-Agent": "tradewire",
                },
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            )
        return self._session

    def _redacted(self, text: str) -> str:
        return text.replace(self._key.get_secret_value(), "***")

    async def _get(
        self, what: str, path_and_query: str, params: dict[str, str]
    ) -> tuple[int, bytes]:
        url = self.base_url + path_and_query
        try:
            async with self._client().get(url, params=params or None) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = self._redacted(str(exc))[:200] or type(exc).__name__
            raise MarketDataError(f"{what}: request failed: {reason}") from None
        if not 200 <= status < 300:
            # check_status (in the parse) makes the error; the body has no key, but be sure.
            body = self._redacted(body.decode(errors="replace")).encode()
        return status, body

    async def _pages(
        self,
        what: str,
        path: str,
        params: dict[str, str],
        parse: Callable[..., tuple[list[_T], str | None]],
    ) -> list[_T]:
        out: list[_T] = []
        target: str | None = path
        for _ in range(self.max_pages):
            assert target is not None
            status, body = await self._get(what, target, params)
            try:
                items, next_url = parse(body, status=status, what=what)
            except MarketDataError as exc:
                raise MarketDataError(
                    self._redacted(str(exc)), status=exc.status, request_id=exc.request_id
                ) from None
            out.extend(items)
            if not next_url:
                return out
            parts = urlsplit(next_url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            params = {}  # the cursor carries the query
        raise MarketDataError(
            f"{what}: more than {self.max_pages} pages ({len(out)} results so far); "
            "narrow the filters or raise max_pages"
        )

    async def option_chain(
        self,
        underlying: str,
        *,
        expiration_date: date | None = None,
        contract_type: str | None = None,
        strike_gte: Decimal | float | None = None,
        strike_lte: Decimal | float | None = None,
        limit: int = SNAPSHOT_LIMIT,
    ) -> list[ChainEntry]:
        """Every contract of ``underlying``'s chain that passes the filters, across pages."""
        root = underlying.strip().upper()
        params = _query(
            {
                "expiration_date": expiration_date,
                "contract_type": contract_type,
                "strike_price.gte": strike_gte,
                "strike_price.lte": strike_lte,
                "limit": limit,
            }
        )
        path = f"/v3/snapshot/options/{root}"
        return await self._pages(f"options chain {root}", path, params, parse_chain_page)

    async def options_contracts(
        self,
        underlying: str | None = None,
        *,
        contract_type: str | None = None,
        expiration_date: date | None = None,
        expiration_gte: date | None = None,
        expiration_lte: date | None = None,
        strike_gte: Decimal | float | None = None,
        strike_lte: Decimal | float | None = None,
        expired: bool | None = None,
        limit: int = CONTRACTS_LIMIT,
    ) -> list[OptionContract]:
        """The listed contracts that pass the filters (unexpired unless ``expired``)."""
        params = _query(
            {
                "underlying_ticker": underlying.strip().upper() if underlying else None,
                "contract_type": contract_type,
                "expiration_date": expiration_date,
                "expiration_date.gte": expiration_gte,
                "expiration_date.lte": expiration_lte,
                "strike_price.gte": strike_gte,
                "strike_price.lte": strike_lte,
                "expired": expired,
                "limit": limit,
            }
        )
        what = f"options contracts {underlying or ''}".rstrip()
        path = "/v3/reference/options/contracts"
        return await self._pages(what, path, params, parse_contracts_page)
