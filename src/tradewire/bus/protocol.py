"""What the gateway and its workers say to each other, as bytes. Sans-I/O.

Market data goes out as the Polygon frame the gateway received, behind a 16-byte header
(sequence number, gateway send time): no re-encoding on the gateway, and the worker decodes
it with the same msgspec decoder as the inline engine. Everything else is a small tagged
MessagePack struct. Every stream the gateway sends carries a sequence number (market data
one for all, order updates one per worker), so a worker sees what it missed.

Intents are idempotent by ``client_order_id``: a worker resends an intent until the gateway
acknowledges it, and the gateway answers a resent id with the first answer, never a second
order. That makes a lost message (a NATS restart, a worker reconnecting) safe.

Subjects: ``tw.md`` market frames, ``tw.ctl`` gateway broadcasts (heartbeat, halt),
``tw.hello.<worker>`` worker hellos, heartbeats and byes, ``tw.intent.<worker>`` intents and
cancels, ``tw.upd.<worker>`` acks, order updates and state for one worker. Every subject a
worker publishes on, or that is meant for one worker, carries the worker's name, so the
transport can tie it to the worker's identity (nats-server permissions per user: see
:mod:`tradewire.bus.nats_auth`), and the gateway takes the worker from the subject, never
from the payload: a message whose ``worker`` field names someone else is refused.
"""

from __future__ import annotations

import struct

import msgspec

MD = "tw.md"
CTL = "tw.ctl"
HELLO_ANY = "tw.hello.>"
INTENT_ANY = "tw.intent.>"


def hello_subject(worker: str) -> str:
    return f"tw.hello.{worker}"


def intent_subject(worker: str) -> str:
    return f"tw.intent.{worker}"


def update_subject(worker: str) -> str:
    return f"tw.upd.{worker}"


def subject_worker(subject: str) -> str:
    """The worker a ``tw.hello.<worker>`` / ``tw.intent.<worker>`` subject belongs to."""
    return subject.split(".", 2)[2] if subject.count(".") == 2 else ""


_MD_HEAD = struct.Struct("<QQ")


def encode_md(seq: int, sent_ns: int, frame: bytes | memoryview) -> bytes:
    return _MD_HEAD.pack(seq, sent_ns) + frame


def decode_md(payload: bytes) -> tuple[int, int, memoryview]:
    """``(seq, gateway send ns, Polygon frame)``; raises ValueError on a short payload."""
    if len(payload) < _MD_HEAD.size:
        raise ValueError(f"market frame of {len(payload)} bytes: shorter than its header")
    seq, sent_ns = _MD_HEAD.unpack_from(payload)
    return seq, sent_ns, memoryview(payload)[_MD_HEAD.size :]


class Hello(msgspec.Struct, tag="hello", frozen=True):
    """A worker announcing itself (and, repeated, that it is alive)."""

    worker: str
    instance: str  # a new value per process start: the gateway sees a restart
    symbols: list[str]
    md_seq: int = 0  # the last market sequence it saw
    # Its own counters, for the gateway's panel and metrics: frames and events delivered,
    # market frames missed (sequence gaps), messages its transport dropped, and the
    # gateway→worker latency p50 of its last interval (wall clocks: same machine or NTP).
    frames: int = 0
    events: int = 0
    gaps: int = 0
    dropped: int = 0
    latency_p50_us: float | None = None
    conflated: int = 0  # quotes it skipped for a newer one of the same symbol (opt-in)
    # The last order update it applied in sequence: the gateway resends what came after.
    update_seq: int = 0


class Bye(msgspec.Struct, tag="bye", frozen=True):
    worker: str
    instance: str


class Intent(msgspec.Struct, tag="intent", frozen=True):
    worker: str
    client_order_id: str
    symbol: str
    side: str
    qty: float
    order_type: str = "market"
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: str = "day"
    extended_hours: bool = False
    sent_ns: int = 0  # worker's perf counter at send: the gateway measures worker→written
    # Alpaca's order classes: a bracket (both exits), an OTO (one), an OCO (an exit pair).
    order_class: str | None = None
    take_profit: float | None = None  # the exit's limit price
    stop_loss: float | None = None  # the exit's stop price
    # A notional order (dollars; ``qty`` is then 0), null for a qty order. An older gateway
    # ignores the field (msgspec skips unknown fields) and denies the order's 0 qty.
    notional: float | None = None


class CancelIntent(msgspec.Struct, tag="cancel", frozen=True):
    worker: str
    client_order_id: str


class ReplaceIntent(msgspec.Struct, tag="replace", frozen=True):
    """Replace a working order (Alpaca's PATCH): the replacement is ``new_client_order_id``.
    Acknowledged (or denied) under that id, and resent until it is, like an intent."""

    worker: str
    client_order_id: str
    new_client_order_id: str
    qty: float | None = None
    limit_price: float | None = None
    stop_price: float | None = None


class Ack(msgspec.Struct, tag="ack", frozen=True):
    """The gateway has the intent: sent to the broker, or denied (``denied`` says why)."""

    client_order_id: str
    denied: str | None = None


class Update(msgspec.Struct, tag="update", frozen=True):
    """One change to one of the worker's orders, as a strategy's OrderUpdate carries it."""

    seq: int
    client_order_id: str
    event: str
    status: str
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    fill_qty: float = 0.0
    fill_price: float | None = None
    position_qty: float | None = None
    broker_order_id: str | None = None
    reject_reason: str | None = None


class OrderState(msgspec.Struct, frozen=True):
    client_order_id: str
    symbol: str
    side: str
    qty: float
    order_type: str
    limit_price: float | None
    status: str
    filled_qty: float


class PositionState(msgspec.Struct, frozen=True):
    symbol: str
    qty: float
    avg_price: float
    realized: float
    unrealized: float


class AccountState(msgspec.Struct, frozen=True):
    """The account's money as the gateway's engine believes it (a worker's ``cash``)."""

    cash: float
    buying_power: float


class Welcome(msgspec.Struct, tag="welcome", frozen=True):
    """The gateway's answer to a hello: this worker's open orders and its symbols' positions."""

    gateway: str  # the gateway's instance id
    worker: str
    update_seq: int
    md_seq: int
    orders: list[OrderState]
    positions: list[PositionState]
    halted: str | None = None
    account: AccountState | None = None


class State(msgspec.Struct, tag="state", frozen=True):
    """Positions of the worker's symbols, every second: the account's, not the worker's."""

    positions: list[PositionState]
    account: AccountState | None = None


class Heartbeat(msgspec.Struct, tag="heartbeat", frozen=True):
    gateway: str
    md_seq: int
    halted: str | None = None


class Halt(msgspec.Struct, tag="halt", frozen=True):
    """The kill switch: every worker stops sending intents at once."""

    reason: str


class Dropped(msgspec.Struct, tag="dropped", frozen=True):
    """The gateway tells a worker how many of its messages it could not deliver."""

    count: int


Message = (
    Hello
    | Bye
    | Intent
    | CancelIntent
    | ReplaceIntent
    | Ack
    | Update
    | Welcome
    | State
    | Heartbeat
    | Halt
    | Dropped
)

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[Message] = msgspec.msgpack.Decoder(Message)


def encode(message: Message) -> bytes:
    return _encoder.encode(message)


def decode(payload: bytes) -> Message:
    """Raises ``msgspec.DecodeError``/``ValidationError`` on anything else: a hostile or
    mismatched peer is refused by the caller, never half-applied."""
    return _decoder.decode(payload)
