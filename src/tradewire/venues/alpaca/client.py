"""Alpaca trading client: typed REST calls and idempotent order submission.

An order has three outcomes: accepted, rejected (a 403/422 with a body), or unknown (a
timeout, 5xx, 429 or dropped connection after the request may have been written). Unknown
is never answered with a blind resend, the mistake alpaca-py makes on 429/504 (reference
section 2). How it is resolved (look up by client_order_id, resend with the same id only
when the venue has no record, a duplicate-id 422 proving the first attempt landed) is the
sans-I/O :mod:`~tradewire.venues.alpaca.submission` policy; this client does the I/O.

Usage (the seed's)::

    client = AlpacaClient(api_key, secret_key)            # paper by default
    order = await client.place_order(symbol="AAPL", qty=100, side="buy",
                                     order_type="limit", limit_price=150.00)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import msgspec
from pydantic import SecretStr

from tradewire._version import __version__
from tradewire.configbase import (
    ALPACA_KEY_VARS,
    ALPACA_SECRET_VARS,
    ALPACA_URL_VARS,
    from_environment,
)
from tradewire.errors import (
    BrokerError,
    FatalBrokerError,
    NotFound,
    OrderNotSent,
    OrderOutcomeUnknown,
    RetryableBrokerError,
)
from tradewire.tuning.outcome import Outcome
from tradewire.tuning.sockets import SocketOptions
from tradewire.venues.alpaca import messages as m
from tradewire.venues.alpaca.budget import Priority, RequestBudget, request_priority
from tradewire.venues.alpaca.config import AlpacaBrokerConfig
from tradewire.venues.alpaca.errors import error_from_response
from tradewire.venues.alpaca.http import HttpError, RawHttpPool, Response, split_url
from tradewire.venues.alpaca.order_body import AnyOrderRequest
from tradewire.venues.alpaca.ratelimit import TokenBucket
from tradewire.venues.alpaca.requests import (
    Number,
    RequestBuilder,
    build_order,
    encode_body,
    path_segment,
    query_string,
)
from tradewire.venues.alpaca.submission import (
    Accepted,
    Decision,
    LookUp,
    Rejected,
    SubmissionPolicy,
    SubmissionStep,
    Unresolved,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

OrderEventHook = Callable[[SubmissionStep, str, object], None]
"""``hook(step, client_order_id, detail)``, one call per :class:`SubmissionStep` of a
submission; detail is an Order, an error, a reason or None (see the step)."""


class AlpacaClient:
    """Async client for the Alpaca Trading API v2 on pre-warmed keep-alive connections.

    Args:
        api_key: Key id (``APCA-API-KEY-ID``); overrides ``config.key_id``.
        secret_key: Secret (``APCA-API-SECRET-KEY``); overrides ``config.secret_key``.
        base_url: Host override, e.g. the simulator's ``http://127.0.0.1:PORT``.
        config: Everything else; defaults to the paper host.
        on_order_event: Hook for each step of an order's submission (see ``OrderEventHook``).
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        secret_key: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        config: AlpacaBrokerConfig | None = None,
        on_order_event: OrderEventHook | None = None,
        socket_options: SocketOptions | None = None,
    ) -> None:
        cfg = config or AlpacaBrokerConfig()
        key = api_key if api_key is not None else cfg.key_id
        secret = secret_key if secret_key is not None else cfg.secret_key
        # The spec's AlpacaClient(): keys and endpoint from the environment or ./.env.
        key = key if key is not None else from_environment(ALPACA_KEY_VARS)
        secret = secret if secret is not None else from_environment(ALPACA_SECRET_VARS)
        if key is None or secret is None:
            raise FatalBrokerError(
                "no Alpaca credentials: pass api_key and secret_key or set ALPACA_API_KEY and ALPACA_API_SECRET"
            )
        self.config = cfg
        if base_url is None and cfg.base_url is None:
            base_url = from_environment(ALPACA_URL_VARS)
        self.base_url = (base_url or cfg.rest_url).rstrip("/")
        _, _, _, host_header = split_url(self.base_url)
        self._builder = RequestBuilder(
            host=host_header,
            key_id=key if isinstance(key, SecretStr) else SecretStr(key),
            secret_key=secret if isinstance(secret, SecretStr) else SecretStr(secret),
            user_agent=f"tradewire/{__version__}",
        )
        self._pool = RawHttpPool(
            self.base_url,
            size=cfg.pool_size,
            max_connections=cfg.max_connections,
            acquire_timeout_s=cfg.request_timeout_s,
            connect_timeout_s=cfg.connect_timeout_s,
            socket_options=socket_options,
        )
        self._bucket = TokenBucket(per_minute=cfg.rate_limit_per_minute, now_s=time.monotonic())
        self._budget = RequestBudget(self._bucket)
        self.on_order_event = on_order_event
        self._pending: set[asyncio.Task[m.Order]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None  # the hot path's, once known
        # Plain-int counters for metrics.
        self.orders_written = 0
        self.orders_unknown = 0
        self.orders_resent = 0

    def __repr__(self) -> str:
        return f"AlpacaClient(base_url={self.base_url!r})"

    @property
    def socket_outcomes(self) -> list[Outcome] | None:
        """What the kernel did with the socket options on the first order connection."""
        return self._pool.socket_outcomes

    # -- the request budget --------------------------------------------------------------

    def reserved_for_kill(self) -> contextlib.AbstractContextManager[None]:
        """Inside, the calling task's requests go first and every other caller pauses:
        the kill switch owns the rate budget (``with client.reserved_for_kill(): ...``)."""
        return self._budget.reserved_for_kill()

    @staticmethod
    def background() -> contextlib.AbstractContextManager[None]:
        """Inside, the calling task's requests yield to orders and cancels (lookups and
        reconciliation: they must not spend the budget an order or a kill needs)."""
        return request_priority(Priority.READ)

    def halt_orders(self, reason: str) -> int:
        """No order leaves from now on: every submission not yet written (waiting for a
        rate-limit token) fails with :class:`OrderNotSent`, and so does every later one.
        Returns how many were waiting. Cancels, reads and the kill switch's requests go on."""
        return self._budget.halt_orders(OrderNotSent(f"order not sent: {reason}"))

    def gate_orders(self, may_send: Callable[[], bool], reason: str) -> None:
        """Ask ``may_send`` at the instant each order would be written; the first no halts
        the orders as :meth:`halt_orders` with ``reason`` (a failover group's lease fence)."""
        self._budget.gate_orders(may_send, OrderNotSent(f"order not sent: {reason}"))

    # -- lifecycle -----------------------------------------------------------------------

    async def connect(self) -> None:
        """Open and warm the connections (one ``GET /v2/clock``) before trading."""
        self._loop = asyncio.get_running_loop()  # the connections' loop
        await self._pool.warm()
        await self.get_clock()

    async def close(self) -> None:
        pending = {t for t in self._pending if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=self.config.request_timeout_s)
        await self._pool.close()

    async def __aenter__(self) -> AlpacaClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- orders --------------------------------------------------------------------------

    async def place_order(
        self,
        symbol: str,
        qty: Number | None = None,
        side: str = "buy",
        order_type: str = "market",
        limit_price: Number | None = None,
        *,
        time_in_force: str = "day",
        stop_price: Number | None = None,
        trail_price: Number | None = None,
        trail_percent: Number | None = None,
        notional: Number | None = None,
        extended_hours: bool = False,
        client_order_id: str | None = None,
        order_class: str | None = None,
        take_profit: dict[str, Number] | None = None,
        stop_loss: dict[str, Number] | None = None,
    ) -> m.Order:
        """Validate, send and settle one order; returns the venue's order.

        Raises:
            OrderValidationError: refused locally; nothing was sent.
            OrderRejected: the venue refused it (403/422).
            OrderOutcomeUnknown: still unresolved after every lookup; it may have landed.
        """
        request = build_order(
            symbol=symbol,
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            qty=qty,
            notional=notional,
            limit_price=limit_price,
            stop_price=stop_price,
            trail_price=trail_price,
            trail_percent=trail_percent,
            extended_hours=extended_hours,
            client_order_id=client_order_id,
            order_class=order_class,
            take_profit=take_profit,
            stop_loss=stop_loss,
        )
        return await self.submit_order(request)

    def order_bytes(self, request: AnyOrderRequest) -> bytes:
        """The HTTP request :meth:`submit_order_nowait` writes for ``request``, sent nowhere:
        run between orders to keep the request builder in cache (live/warm.py)."""
        return self._builder.post_order(encode_body(request))

    def submit_order_nowait(self, request: AnyOrderRequest) -> asyncio.Future[m.Order]:
        """Hot path: write the request now if a warm connection is idle; settle it later.

        The bytes are on the socket when this returns (or, with no idle connection or no
        rate-limit token, a task sends them as soon as it can). The future resolves like
        :meth:`submit_order`.
        """
        raw = self._builder.post_order(encode_body(request))
        return self.submit_raw_nowait(request.client_order_id, raw)

    def submit_raw_nowait(self, client_order_id: str, raw: bytes) -> asyncio.Future[m.Order]:
        """:meth:`submit_order_nowait` for a request already in bytes (the native order path
        builds them from a template of :meth:`order_bytes`; issue 26). ``raw`` must be the
        ``POST /v2/orders`` of ``client_order_id``: the settling looks it up by that id."""
        loop = self._loop or self._bind_loop()
        pending: asyncio.Future[Response] | None = None
        if self._budget.try_take_now():
            pending = self._pool.try_send(raw)
        outer: asyncio.Future[m.Order] = loop.create_future()
        if pending is not None:
            self.orders_written += 1
            # Everything else waits until the caller's hot path is done (a Task costs ~2 µs
            # to create): call_soon still runs before the loop next reads a socket, so
            # "written" is seen before any answer.
            loop.call_soon(self._start_settle, client_order_id, raw, pending, outer)
        else:
            coro = self._submit(client_order_id, raw, token_taken=False)
            self._track(loop.create_task(coro), outer)
        return outer

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        # asyncio.get_running_loop() costs a getpid() syscall per call on CPython 3.11
        # (docs/performance.md, issue 26): the hot path asks once and keeps the answer.
        self._loop = asyncio.get_running_loop()
        return self._loop

    def _start_settle(
        self,
        client_order_id: str,
        raw: bytes,
        pending: asyncio.Future[Response],
        outer: asyncio.Future[m.Order],
    ) -> None:
        self._emit(SubmissionStep.WRITTEN, client_order_id, None)
        loop = asyncio.get_running_loop()
        self._track(loop.create_task(self._settle(client_order_id, raw, pending)), outer)

    def _track(self, task: asyncio.Task[m.Order], outer: asyncio.Future[m.Order]) -> None:
        # The task keeps running if the caller drops or cancels ``outer``: an order that may
        # have been written is always settled.
        self._pending.add(task)

        def done(t: asyncio.Task[m.Order]) -> None:
            self._pending.discard(t)
            # Retrieved even when nobody waits on ``outer`` any more (a stop cancelled it):
            # else asyncio logs "Task exception was never retrieved" per unresolved order.
            exc = None if t.cancelled() else t.exception()
            if outer.done():
                return
            if t.cancelled():
                outer.cancel()
            elif exc is not None:
                outer.set_exception(exc)
            else:
                outer.set_result(t.result())

        task.add_done_callback(done)

    async def submit_order(self, request: AnyOrderRequest) -> m.Order:
        raw = self._builder.post_order(encode_body(request))
        return await self._submit(request.client_order_id, raw, token_taken=False)

    async def _submit(self, cid: str, raw: bytes, *, token_taken: bool) -> m.Order:
        if not token_taken:
            await self._budget.take(Priority.ORDER, order=True)
        for attempt in range(self.config.max_retries_before_send + 1):
            if (halted := self._budget.check_gate()) is not None:
                raise halted  # nothing of this order was written
            try:
                pending = await self._pool.send(raw)
            except HttpError as exc:
                if exc.written or attempt == self.config.max_retries_before_send:
                    error = RetryableBrokerError(f"alpaca: cannot send order {cid}: {exc}")
                    raise error from (None if exc.unreachable else exc)
                await asyncio.sleep(self.config.resolve_backoff_s * (attempt + 1))
                continue
            self.orders_written += 1
            self._emit(SubmissionStep.WRITTEN, cid, None)
            return await self._settle(cid, raw, pending)
        raise AssertionError("unreachable")

    async def _settle(self, cid: str, raw: bytes, pending: asyncio.Future[Response]) -> m.Order:
        """Drive one submission to an outcome; what comes next is the sans-I/O policy's."""
        cfg = self.config
        policy: SubmissionPolicy[m.Order] = SubmissionPolicy(
            attempts=cfg.resolve_attempts, backoff_s=cfg.resolve_backoff_s
        )
        decision, reason = await self._answer(policy, pending)
        while True:
            if isinstance(decision, Accepted):
                step = SubmissionStep.RESOLVED if decision.resolved else SubmissionStep.ACKED
                self._emit(step, cid, decision.order)
                return decision.order
            if isinstance(decision, Rejected):
                self._emit(SubmissionStep.REJECTED, cid, decision.error)
                raise decision.error
            if isinstance(decision, Unresolved):
                self._emit(SubmissionStep.UNRESOLVED, cid, None)
                raise OrderOutcomeUnknown(
                    f"alpaca: order {cid} still unresolved after {decision.lookups} lookups",
                    client_order_id=cid,
                )
            if isinstance(decision, LookUp):
                if policy.lookups == 1:
                    self.orders_unknown += 1
                    self._emit(SubmissionStep.UNKNOWN, cid, reason)
                    log.warning(
                        "alpaca: order %s outcome unknown (%s); resolving by client_order_id",
                        cid,
                        reason,
                    )
                await asyncio.sleep(decision.delay_s)
                self._emit(SubmissionStep.LOOKUP, cid, None)
                try:
                    with self.background():
                        found = await self.get_order_by_client_id(cid)
                    decision = policy.found(found)
                except NotFound:
                    decision = policy.not_found()
                except (RetryableBrokerError, HttpError) as exc:
                    log.warning("alpaca: lookup of %s failed (%s); will retry", cid, exc)
                    decision = policy.lookup_failed()
                continue
            # Resend: the venue has no record; the same id makes a duplicate impossible.
            # Halted meanwhile: not resent, and not called unsent either (the first attempt
            # may still appear): reconciliation decides, and the kill's cancel-all covers it.
            try:
                await self._budget.take(Priority.ORDER, order=True)
                if (halted := self._budget.check_gate()) is not None:
                    raise halted  # the lease lapsed while this waited for a token
            except OrderNotSent:
                self._emit(SubmissionStep.UNRESOLVED, cid, None)
                raise OrderOutcomeUnknown(
                    f"alpaca: order {cid} not resent: {self._budget.halted}", client_order_id=cid
                ) from None
            self.orders_resent += 1
            self._emit(SubmissionStep.RESENT, cid, None)
            try:
                resent = await self._pool.send(raw)
            except HttpError as exc:
                log.warning("alpaca: resend of %s failed (%s); will look it up", cid, exc)
                decision = policy.resend_failed()
                continue
            decision, _ = await self._answer(policy, resent)

    async def _answer(
        self, policy: SubmissionPolicy[m.Order], pending: asyncio.Future[Response]
    ) -> tuple[Decision[m.Order], str]:
        # One send's answer, as the policy sees it, and why it was not an answer.
        try:
            response = await self._await(pending)
        except HttpError as exc:
            return policy.failed(), str(exc)
        self._observe(response)
        if response.status == 200:
            try:
                order = m.ORDER_DECODER.decode(response.body)
            except msgspec.MsgspecError as exc:
                # The order may have landed and the answer cannot be read: no answer, so
                # the policy settles it by client_order_id, as after a lost response.
                return policy.failed(), f"unreadable 200 body ({exc})"
            return policy.answered(order, None), ""
        error = self._error(response, is_order=True)
        return policy.answered(None, error), str(error)

    async def cancel_order(self, order_id: str) -> None:
        """Request cancellation (204); the final state arrives on the trade_updates stream."""
        await self._call("DELETE", f"/v2/orders/{path_segment(order_id)}", None, retry=False)

    async def cancel_all_orders(self) -> list[m.CancelResult]:
        return await self._call("DELETE", "/v2/orders", m.CANCEL_RESULTS_DECODER, retry=False)

    async def replace_order(
        self,
        order_id: str,
        *,
        qty: int | None = None,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
        trail: Number | None = None,
        time_in_force: str | None = None,
        client_order_id: str | None = None,
    ) -> m.Order:
        """PATCH an open order; returns the *new* order (with ``replaces`` set)."""
        from tradewire.venues.alpaca.requests import format_price, format_qty

        body: dict[str, Any] = {}
        if qty is not None:
            body["qty"] = format_qty(qty)
        if limit_price is not None:
            body["limit_price"] = format_price(limit_price, "limit_price")
        if stop_price is not None:
            body["stop_price"] = format_price(stop_price, "stop_price")
        if trail is not None:
            body["trail"] = format_qty(trail, "trail")
        if time_in_force is not None:
            body["time_in_force"] = time_in_force
        if client_order_id is not None:
            body["client_order_id"] = client_order_id
        return await self._call(
            "PATCH",
            f"/v2/orders/{path_segment(order_id)}",
            m.ORDER_DECODER,
            body,
            retry=False,
            is_order=True,
        )

    async def get_order(self, order_id: str, *, nested: bool | None = None) -> m.Order:
        qs = query_string({"nested": nested})
        return await self._call(
            "GET",
            f"/v2/orders/{path_segment(order_id)}" + (f"?{qs}" if qs else ""),
            m.ORDER_DECODER,
        )

    async def get_order_by_client_id(self, client_order_id: str) -> m.Order:
        qs = query_string({"client_order_id": client_order_id})
        return await self._call("GET", f"/v2/orders:by_client_order_id?{qs}", m.ORDER_DECODER)

    async def list_orders(
        self,
        *,
        status: str = "open",
        limit: int | None = None,
        after: str | None = None,
        until: str | None = None,
        direction: str | None = None,
        nested: bool | None = None,
        symbols: Iterable[str] | None = None,
        side: str | None = None,
    ) -> list[m.Order]:
        qs = query_string(
            {
                "status": status,
                "limit": limit,
                "after": after,
                "until": until,
                "direction": direction,
                "nested": nested,
                "symbols": list(symbols) if symbols else None,
                "side": side,
            }
        )
        return await self._call("GET", f"/v2/orders?{qs}", m.ORDERS_DECODER)

    async def list_all_open_orders(self, *, page_size: int = 500) -> list[m.Order]:
        """Every open order, paginated: one page of ``limit`` is not the whole book.

        Pages walk back by ``submitted_at`` (``until`` is exclusive at the venue); ids are
        de-duplicated, and a page that adds nothing ends the walk.
        """
        out: dict[str, m.Order] = {}
        until: str | None = None
        while True:
            page = await self.list_orders(
                status="open", limit=page_size, until=until, direction="desc"
            )
            before = len(out)
            for order in page:
                out.setdefault(order.id, order)
            if m.received(page) < page_size or len(out) == before:
                return list(out.values())
            oldest = page[-1].submitted_at
            if oldest is None or oldest == until:
                return list(out.values())
            until = oldest

    async def get_fill_activities(
        self,
        *,
        after: str | None = None,
        page_token: str | None = None,
        direction: str = "asc",
        page_size: int = 100,
    ) -> list[m.FillActivity]:
        """One page of ``GET /v2/account/activities/FILL`` (executions, oldest first by default)."""
        qs = query_string(
            {
                "after": after,
                "page_token": page_token,
                "direction": direction,
                "page_size": page_size,
            }
        )
        return await self._call(
            "GET", f"/v2/account/activities/FILL?{qs}", m.FILL_ACTIVITIES_DECODER
        )

    async def get_fee_activities(
        self,
        *,
        types: str = "CFEE,FEE",
        after: str | None = None,
        page_token: str | None = None,
        direction: str = "desc",
        page_size: int = 100,
    ) -> list[m.FeeActivity]:
        """One page of ``GET /v2/account/activities?activity_types=CFEE,FEE`` (the fees the
        account was charged; ``types`` ``OPEXC,OPASN,OPEXP``: its option settlements; newest
        first by default), read as :class:`FeeActivity` (the non-trade activity shape)."""
        qs = query_string(
            {
                "activity_types": types,
                "after": after,
                "page_token": page_token,
                "direction": direction,
                "page_size": page_size,
            }
        )
        return await self._call("GET", f"/v2/account/activities?{qs}", m.FEE_ACTIVITIES_DECODER)

    # -- account, positions, market info --------------------------------------------------

    async def get_account(self) -> m.Account:
        return await self._call("GET", "/v2/account", m.ACCOUNT_DECODER)

    async def get_positions(self) -> list[m.Position]:
        return await self._call("GET", "/v2/positions", m.POSITIONS_DECODER)

    async def get_position(self, symbol: str) -> m.Position:
        return await self._call("GET", f"/v2/positions/{path_segment(symbol)}", m.POSITION_DECODER)

    async def close_position(
        self, symbol: str, *, qty: Number | None = None, percentage: Number | None = None
    ) -> m.Order:
        if qty is not None and percentage is not None:
            raise ValueError("give qty or percentage, not both")
        qs = query_string({"qty": qty, "percentage": percentage})
        target = f"/v2/positions/{path_segment(symbol)}" + (f"?{qs}" if qs else "")
        return await self._call("DELETE", target, m.ORDER_DECODER, retry=False, is_order=True)

    async def close_all_positions(
        self, *, cancel_orders: bool = False
    ) -> list[m.ClosePositionResult]:
        qs = query_string({"cancel_orders": cancel_orders})
        return await self._call(
            "DELETE", f"/v2/positions?{qs}", m.CLOSE_RESULTS_DECODER, retry=False
        )

    async def get_clock(self) -> m.Clock:
        return await self._call("GET", "/v2/clock", m.CLOCK_DECODER)

    async def get_asset(self, symbol: str) -> m.Asset:
        return await self._call("GET", f"/v2/assets/{path_segment(symbol)}", m.ASSET_DECODER)

    async def get_option_contract(self, symbol: str) -> m.OptionContractRecord:
        target = f"/v2/options/contracts/{path_segment(symbol)}"
        return await self._call("GET", target, m.OPTION_CONTRACT_DECODER)

    async def get_assets(self, *, status: str | None = None) -> list[m.Asset]:
        qs = query_string({"status": status})
        return await self._call("GET", "/v2/assets" + (f"?{qs}" if qs else ""), m.ASSETS_DECODER)

    # -- plumbing ------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        target: str,
        decoder: m.Decodes[T] | None,
        body: Any = None,
        *,
        retry: bool = True,
        is_order: bool = False,
    ) -> T:
        # GETs are idempotent and retried on transient failures; mutations are not.
        if method != "GET" and (fenced := self._budget.fence()) is not None:
            raise fenced  # a fenced failover member changes nothing at the broker
        payload = encode_body(body) if body is not None else None
        raw = self._builder.build(method, target, payload)
        attempts = 3 if retry else 1
        for attempt in range(attempts):
            await self._budget.take()
            try:
                response = await self._await(await self._pool.send(raw))
            except HttpError as exc:
                if (exc.written and not retry) or attempt == attempts - 1:
                    failed = RetryableBrokerError(f"alpaca: {method} {target.split('?')[0]}: {exc}")
                    raise failed from (None if exc.unreachable else exc)
                await asyncio.sleep(0.05 * 2**attempt)
                continue
            self._observe(response)
            if 200 <= response.status < 300:
                if decoder is None or not response.body:
                    return None  # type: ignore[return-value]
                try:
                    return decoder.decode(response.body)
                except msgspec.MsgspecError as exc:
                    # A proxy's HTML page, a truncated body: nothing to book. GETs retry.
                    unreadable = RetryableBrokerError(
                        f"alpaca: {method} {target.split('?')[0]}: answered {response.status} "
                        f"with a body that is not a valid answer ({exc})",
                        status=response.status,
                    )
                    if not retry or attempt == attempts - 1:
                        raise unreadable from None
                    await asyncio.sleep(0.05 * 2**attempt)
                    continue
            error = self._error(response, is_order=is_order)
            if retry and isinstance(error, RetryableBrokerError) and attempt < attempts - 1:
                await asyncio.sleep(error.retry_after or 0.05 * 2**attempt)
                continue
            raise error
        raise AssertionError("unreachable")

    async def _await(self, pending: asyncio.Future[Response]) -> Response:
        timeout = self.config.request_timeout_s
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(pending)
        except TimeoutError:
            self._pool.abandon(pending)
            raise HttpError(f"no response within {timeout:.3f}s", written=True) from None

    def _observe(self, response: Response) -> None:
        if "x-ratelimit-remaining" in response.headers:
            self._bucket.observe(response.headers, time.monotonic(), time.time())

    def _error(self, response: Response, *, is_order: bool) -> BrokerError:
        error = error_from_response(
            response.status, response.body, response.headers, is_order=is_order, now_s=time.time()
        )
        if response.status == 429:
            self._bucket.penalize(error.retry_after or 1.0, time.monotonic())
        return error

    def _emit(self, step: SubmissionStep, cid: str, detail: object) -> None:
        hook = self.on_order_event
        if hook is not None:
            hook(step, cid, detail)
