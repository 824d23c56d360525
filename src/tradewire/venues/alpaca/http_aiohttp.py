"""The order path's HTTP interface on aiohttp: the contender the raw transport is measured
against (``python -m tradewire.bench.http_order_path``), kept apart from the raw pool."""

from __future__ import annotations

from tradewire.venues.alpaca.http import HttpError, Response


class AiohttpTransport:
    """The same interface on aiohttp, kept for the side-by-side benchmark."""

    def __init__(self, base_url: str, *, headers: dict[str, str], size: int = 2) -> None:
        import aiohttp

        self._base = base_url.rstrip("/")
        self._headers = headers
        self._size = size
        self._session: aiohttp.ClientSession | None = None

    async def warm(self) -> None:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=self._size, enable_cleanup_closed=True)
        self._session = aiohttp.ClientSession(headers=self._headers, connector=connector)

    async def request(
        self, method: str, target: str, body: bytes | None, *, timeout_s: float
    ) -> Response:
        import aiohttp

        assert self._session is not None
        headers = {"Content-Type": "application/json"} if body is not None else None
        try:
            async with self._session.request(
                method,
                self._base + target,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                return Response(
                    resp.status, {k.lower(): v for k, v in resp.headers.items()}, await resp.read()
                )
        except aiohttp.ClientConnectorError as exc:
            raise HttpError(str(exc), written=False) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}", written=True) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
