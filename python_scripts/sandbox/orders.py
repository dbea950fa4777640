"""The synthetic orders feed (``GET /orders?as_of=...&size=...``): a batch of the same orders, updated.

No public API serves this; the feed is defined here. A batch is orders 1..``size`` as they stand at
``as_of`` (ISO-8601 with a timezone, at or after the feed's ``epoch``), each stamped ``updated_at`` =
``as_of``. What never changes is drawn per order in blocks of :data:`BLOCK` ids, each from its own
``random.Random`` seeded by (seed, block): customer, currency, amount, ``created_at`` (in the
``history_days`` before the epoch) and the order's timeline. The status is read off the timeline at
``as_of``: pending, processing, shipped, then delivered; a few orders are cancelled on the way and stay
cancelled. So a batch depends only on (seed, customers, epoch, as_of, size).
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import Response

from python_scripts.sandbox.clock import parse_instant
from python_scripts.sandbox.fakestore import FakeStoreConfig
from python_scripts.sandbox.web import BadRequest, Source, parse_int, stream_json_array

SOURCE = "orders"
PATH = "/orders"
STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled")
CURRENCIES = ("USD", "EUR", "GBP")
DEFAULT_SIZE = 100
MAX_SIZE = 1_000_000
BLOCK = 1000
DEFAULT_SEED = FakeStoreConfig.seed
DAY = 86_400
CANCELLED_SHARE = 0.08
# Days from creation to delivery are log-normal (median 30, a long tail), split into pending (5-25%),
# processing (15-35%) and shipped (the rest); amounts are log-normal around 55 with a long tail.
_MEDIAN_LIFETIME = 30 * DAY
_LIFETIME_SPREAD = 0.9
_AMOUNT_LOG_MEAN = 4.0
_AMOUNT_LOG_SPREAD = 0.8
_CLOCK_MINUTES = tuple(f"{minute // 60:02d}:{minute % 60:02d}:00Z" for minute in range(DAY // 60))


@dataclass(frozen=True)
class OrdersConfig:
    """What to generate. ``seed`` None: the sandbox seed. ``customers`` 0: the Fake Store user count (10
    outside a sandbox). Orders are created in the ``history_days`` before ``epoch``; ``as_of`` may not
    precede it."""

    seed: int | None = None
    customers: int = 0
    epoch: date = date(2024, 12, 1)
    history_days: int = 30

    def __post_init__(self) -> None:
        if self.customers < 0 or self.history_days < 1:
            raise ValueError("customers must be >= 0 and history_days >= 1")

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "customers": self.customers,
            "epoch": self.epoch.isoformat(),
            "history_days": self.history_days,
        }


class _Order(NamedTuple):
    """What is fixed about an order; times are Unix seconds."""

    order_id: int
    customer_id: int
    amount: float
    currency: str
    created: int
    created_at: str
    processing: int
    shipped: int
    delivered: int
    cancelled: int | None


def format_time(seconds: int) -> str:
    """``2025-01-03T08:15:00Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Orders:
    """The orders feed for one config."""

    def __init__(self, config: OrdersConfig | None = None) -> None:
        self.config = config or OrdersConfig()
        self.seed = DEFAULT_SEED if self.config.seed is None else self.config.seed
        self.customers = self.config.customers or FakeStoreConfig().users
        self.epoch = int(datetime.combine(self.config.epoch, datetime.min.time(), UTC).timestamp())
        self._block = functools.lru_cache(maxsize=64)(self._generate_block)
        days = self.config.history_days + 1
        first_day = self.config.epoch - timedelta(days=days)
        self._day_names = [f"{first_day + timedelta(days=d)}T" for d in range(days)]

    def batch(self, as_of: datetime, size: int = DEFAULT_SIZE) -> Iterator[dict[str, Any]]:
        """Orders 1..``size`` as they stand at ``as_of``; ValueError for a size or an ``as_of`` out of range."""
        if size < 1 or size > MAX_SIZE:
            raise ValueError(f"size must be between 1 and {MAX_SIZE}, got {size}")
        now = int(as_of.timestamp())
        if now < self.epoch:
            raise ValueError(f"as_of must not precede the feed epoch {format_time(self.epoch)}")
        return self._records(now, size)

    def _records(self, now: int, size: int) -> Iterator[dict[str, Any]]:
        updated_at = format_time(now)
        for block in range((size - 1) // BLOCK + 1):
            for order in self._block(block)[: size - block * BLOCK]:
                yield {
                    "order_id": order.order_id,
                    "customer_id": order.customer_id,
                    "status": status_at(order, now),
                    "amount": order.amount,
                    "currency": order.currency,
                    "created_at": order.created_at,
                    "updated_at": updated_at,
                }

    def _created_at(self, minutes_before_epoch: int) -> str:
        day, minute = divmod(len(self._day_names) * DAY // 60 - minutes_before_epoch, DAY // 60)
        return self._day_names[day] + _CLOCK_MINUTES[minute]

    def _generate_block(self, block: int) -> list[_Order]:
        rng = random.Random(f"{self.seed}/{SOURCE}/{block}")
        r, gauss, customers, epoch = rng.random, rng.gauss, self.customers, self.epoch
        minutes = self.config.history_days * DAY // 60
        orders = []
        for order_id in range(block * BLOCK + 1, (block + 1) * BLOCK + 1):
            before = 1 + int(r() * minutes)
            created = epoch - 60 * before
            lifetime = _MEDIAN_LIFETIME * math.exp(_LIFETIME_SPREAD * gauss(0.0, 1.0))
            pending = int(lifetime * (0.05 + 0.2 * r()))
            processing = pending + int(lifetime * (0.15 + 0.2 * r()))
            cancelled = created + int(r() * processing) if r() < CANCELLED_SHARE else None
            share = r()
            orders.append(
                _Order(
                    order_id=order_id,
                    customer_id=1 + int(r() * customers),
                    amount=round(max(1.0, math.exp(_AMOUNT_LOG_MEAN + _AMOUNT_LOG_SPREAD * gauss(0.0, 1.0))), 2),
                    currency=CURRENCIES[0 if share < 0.6 else 1 if share < 0.85 else 2],
                    created=created,
                    created_at=self._created_at(before),
                    processing=created + pending,
                    shipped=created + processing,
                    delivered=created + int(lifetime),
                    cancelled=cancelled,
                )
            )
        return orders


def status_at(order: _Order, now: int) -> str:
    """The status of an order at ``now`` (Unix seconds)."""
    if order.cancelled is not None and now >= order.cancelled:
        return "cancelled"
    if now < order.processing:
        return "pending"
    if now < order.shipped:
        return "processing"
    return "shipped" if now < order.delivered else "delivered"


def router(orders: Orders) -> APIRouter:
    api = APIRouter(tags=[SOURCE])

    @api.get(PATH)
    def list_orders(request: Request) -> Response:
        params = request.query_params
        try:
            as_of = parse_instant(params.get("as_of", ""), "as_of")
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        size = parse_int(params["size"], "size") if params.get("size") else DEFAULT_SIZE
        try:
            records = orders.batch(as_of, size)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return stream_json_array(records)

    return api


def build_source(config: OrdersConfig) -> Source:
    return Source(SOURCE, (), router(Orders(config)), config.as_dict())
