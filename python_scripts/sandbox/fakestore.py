"""Fake Store API (fakestoreapi.com): deterministic products, users and carts, and the routes serving them.

Records are generated in blocks of :data:`BLOCK` ids, each from its own ``random.Random`` seeded by
(seed, entity, block number), so one record costs one block and a range of records is generated
block by block. Cart ``i`` of ``n`` falls in the ``i``-th of ``n`` equal slots of the date window, so
dates never decrease with the id and a date range is found by bisecting the ids.
"""

from __future__ import annotations

import base64
import bisect
import functools
import hashlib
import heapq
import hmac
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from python_scripts.sandbox.clock import SandboxClock
from python_scripts.sandbox.overrides import Overrides
from python_scripts.sandbox.web import (
    BadRequest,
    ListQuery,
    Source,
    json_response,
    parse_date,
    parse_int,
    stream_json_array,
)

SOURCE = "fakestore"
ENTITIES = ("products", "users", "carts")
BLOCK = 1000
DAY = 86_400

CATEGORIES = ("electronics", "jewelery", "men's clothing", "women's clothing")
CITIES = (
    "London",
    "Paris",
    "Berlin",
    "Madrid",
    "Rome",
    "New York",
    "Chicago",
    "Toronto",
    "Tokyo",
    "Sydney",
    "Mumbai",
    "São Paulo",
)
CITY_COORDINATES: dict[str, tuple[float, float]] = {
    "London": (51.5074, -0.1278),
    "Paris": (48.8566, 2.3522),
    "Berlin": (52.5200, 13.4050),
    "Madrid": (40.4168, -3.7038),
    "Rome": (41.9028, 12.4964),
    "New York": (40.7128, -74.0060),
    "Chicago": (41.8781, -87.6298),
    "Toronto": (43.6532, -79.3832),
    "Tokyo": (35.6762, 139.6503),
    "Sydney": (-33.8688, 151.2093),
    "Mumbai": (19.0760, 72.8777),
    "São Paulo": (-23.5505, -46.6333),
}

_CATALOGUE: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[float, float]]] = {
    "electronics": (
        ("WD", "SanDisk", "Samsung", "Acer", "Silicon Power", "Logitech", "Sony", "Anker"),
        ("2TB External Hard Drive", "SSD 1TB", "27-inch Monitor", "Wireless Mouse", "USB-C Hub", "Headphones"),
        (9.99, 999.99),
    ),
    "jewelery": (
        ("Gold Plated", "Sterling Silver", "Rose Gold", "Titanium", "White Gold", "Pierced Owl"),
        ("Bracelet", "Ring", "Necklace", "Earrings", "Pendant", "Double Flared Tunnel Plug"),
        (4.99, 699.99),
    ),
    "men's clothing": (
        ("Fjallraven", "Casual", "Slim Fit", "Premium", "Cotton", "Outdoor"),
        ("Backpack", "T-Shirt", "Jacket", "Shirt", "Hoodie", "Chino Pants"),
        (7.95, 119.99),
    ),
    "women's clothing": (
        ("Lock and Love", "Rain", "Opna", "Danvouy", "MBJ", "Biker"),
        ("Snowboard Jacket", "Rain Jacket", "Short Sleeve Top", "Moto Jacket", "Tunic", "Summer Dress"),
        (5.99, 89.99),
    ),
}
_FEATURES = (
    "lightweight and durable",
    "designed for everyday use",
    "backed by a one-year warranty",
    "made from sustainable materials",
    "easy to clean",
    "a perfect gift",
    "available in several colours",
    "rated highly by customers",
)
_FIRST_NAMES = (
    "john", "david", "kevin", "don", "derek", "william", "kate", "jimmie", "maria", "sofia", "liam", "emma",
    "noah", "olivia", "lucas", "mia", "hiro", "yuki", "arjun", "priya", "chen", "ana", "pierre", "greta",
)  # fmt: skip
_LAST_NAMES = (
    "doe", "morrison", "ryan", "romer", "powell", "hopkins", "hale", "klein", "garcia", "rossi", "smith",
    "muller", "dubois", "tanaka", "sato", "patel", "sharma", "wang", "silva", "brown", "martin", "lopez",
)  # fmt: skip
_STREETS = (
    "Lovers Ln", "Frances Ct", "Hunters Creek Dr", "Prospect St", "Vally View Ln", "Avondale Ave",
    "Oak Lawn Ave", "Fox Run", "Main St", "High St", "Station Rd", "Church Ln", "Park Ave", "Elm St",
)  # fmt: skip
_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "example.com")
_LOGIN_CHARS = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789$^_#@!"
_USERNAME_ID = re.compile(r"_(\d+)$")
_CLOCK_MINUTES = tuple(f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(DAY // 60))
_CLOCK_SECONDS = tuple(f":{second:02d}.000Z" for second in range(60))


@dataclass(frozen=True)
class FakeStoreConfig:
    """What to generate. ``users``/``products`` of 0 derive from ``carts``: max(10, carts // 20) and
    max(20, carts // 500). Carts are dated in [start_date, start_date + days). ``carts_until_clock``: carts
    dated on or after the sandbox clock's day are not served yet, as on a live API where they do not exist
    before their day (a daily run at the clock's midnight then sees every cart of the day before)."""

    seed: int = 42
    carts: int = 200
    users: int = 0
    products: int = 0
    start_date: date = date(2025, 1, 1)
    days: int = 30
    carts_until_clock: bool = False

    def __post_init__(self) -> None:
        if not self.users:
            object.__setattr__(self, "users", max(10, self.carts // 20))
        if not self.products:
            object.__setattr__(self, "products", max(20, self.carts // 500))
        if self.carts < 0 or self.users < 1 or self.products < 1 or self.days < 1:
            raise ValueError("carts must be >= 0; users, products and days >= 1")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "start_date": self.start_date.isoformat()}


class _CartHeader(NamedTuple):
    """The first draws of a cart block: enough to locate carts by date and user without the rest."""

    times: list[int]
    users: list[int]


def _block_slices(indices: range, descending: bool) -> Iterator[tuple[int, int, int]]:
    """(block, first, stop) offsets within each block covering the 0-based ``indices``, in order."""
    if not indices:
        return
    blocks = range(indices.start // BLOCK, (indices.stop - 1) // BLOCK + 1)
    for block in reversed(blocks) if descending else blocks:
        base = block * BLOCK
        yield block, max(indices.start - base, 0), min(indices.stop - base, BLOCK)


class FakeStore:
    """The Fake Store data set for one config, with the patches of ``overrides`` applied."""

    def __init__(self, config: FakeStoreConfig | None = None, overrides: Overrides | None = None) -> None:
        self.config = config or FakeStoreConfig()
        self._overrides = Overrides() if overrides is None else overrides
        self._window = self.config.days * DAY
        start = self.config.start_date
        self._day_names = [f"{start + timedelta(days=d)}T" for d in range(self.config.days)]
        self._cart_header = functools.lru_cache(maxsize=64)(self._generate_cart_header)

    # --- products -------------------------------------------------------------------------------

    def categories(self) -> list[str]:
        return list(CATEGORIES)

    def products(self, category: str | None = None, descending: bool = False) -> Iterator[dict[str, Any]]:
        """All products by id, or those of one category."""

        def keep(product: dict[str, Any]) -> bool:
            return category is None or product.get("category") == category

        generated = self._generate(self._product_block, range(self.config.products), descending)
        return self._patched("products", filter(keep, generated), self.product, keep, descending)

    def product(self, product_id: int) -> dict[str, Any] | None:
        return self._by_id("products", self._product_block, self.config.products, product_id)

    def _product_block(self, block: int) -> list[dict[str, Any]]:
        rng = self._rng("products", block)
        r = rng.random
        records = []
        for product_id in range(block * BLOCK + 1, min((block + 1) * BLOCK, self.config.products) + 1):
            category = CATEGORIES[int(r() * len(CATEGORIES))]
            brands, items, (low, high) = _CATALOGUE[category]
            brand, item = rng.choice(brands), rng.choice(items)
            features = rng.sample(_FEATURES, 2)
            records.append(
                {
                    "id": product_id,
                    "title": f"{brand} {item}",
                    "price": round(low + r() * (high - low), 2),
                    "description": f"{brand} {item.lower()}: {features[0]}, {features[1]}.",
                    "category": category,
                    "image": f"https://fakestoreapi.com/img/{product_id}_{int(r() * 1e9):09d}.jpg",
                    "rating": {"rate": round(1 + r() * 4, 1), "count": int(r() * 700)},
                    "__v": 0,
                }
            )
        return records

    # --- users ----------------------------------------------------------------------------------

    def users(self, descending: bool = False) -> Iterator[dict[str, Any]]:
        generated = self._generate(self._user_block, range(self.config.users), descending)
        return self._patched("users", generated, self.user, lambda u: True, descending)

    def user(self, user_id: int) -> dict[str, Any] | None:
        return self._by_id("users", self._user_block, self.config.users, user_id)

    def find_user(self, username: str) -> dict[str, Any] | None:
        """The user with this username: generated usernames end in ``_<id>``; patched ones are checked."""
        for user_id in sorted(self._overrides.ids(SOURCE, "users")):
            user = self.user(user_id)
            if user is not None and user.get("username") == username:
                return user
        match = _USERNAME_ID.search(username)
        user = self.user(int(match.group(1))) if match else None
        return user if user is not None and user.get("username") == username else None

    def _user_block(self, block: int) -> list[dict[str, Any]]:
        rng = self._rng("users", block)
        r, choice = rng.random, rng.choice
        records = []
        for user_id in range(block * BLOCK + 1, min((block + 1) * BLOCK, self.config.users) + 1):
            first, last, city = choice(_FIRST_NAMES), choice(_LAST_NAMES), choice(CITIES)
            lat, long = CITY_COORDINATES[city]
            records.append(
                {
                    "address": {
                        "geolocation": {"lat": f"{lat + r() * 0.2 - 0.1:.4f}", "long": f"{long + r() * 0.2 - 0.1:.4f}"},
                        "city": city,
                        "street": choice(_STREETS),
                        "number": 1 + int(r() * 9999),
                        "zipcode": f"{10000 + int(r() * 90000)}-{1000 + int(r() * 9000)}",
                    },
                    "id": user_id,
                    "email": f"{first}.{last}{user_id}@{choice(_EMAIL_DOMAINS)}",
                    "username": f"{first}{last[0]}_{user_id}",
                    "password": "".join(choice(_LOGIN_CHARS) for _ in range(8)),
                    "name": {"firstname": first, "lastname": last},
                    "phone": f"1-{int(r() * 900) + 100}-{int(r() * 900) + 100}-{int(r() * 9000) + 1000}",
                    "__v": 0,
                }
            )
        return records

    # --- carts ----------------------------------------------------------------------------------

    def carts(
        self,
        start: date | None = None,
        end: date | None = None,
        user_id: int | None = None,
        descending: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Carts dated in [start, end) (either bound optional), optionally of one user, by id."""
        indices = self.cart_indices(start, end)
        if user_id is None:
            generated = self._generate(self._cart_block, indices, descending)
        else:
            generated = (
                c
                for c in self._generate(self._cart_block, indices, descending, self._has_user(user_id))
                if c["userId"] == user_id
            )

        def keep(cart: dict[str, Any]) -> bool:
            day = str(cart.get("date"))[:10]
            return (
                (user_id is None or cart.get("userId") == user_id)
                and (start is None or day >= start.isoformat())
                and (end is None or day < end.isoformat())
            )

        return self._patched("carts", generated, self.cart, keep, descending)

    def cart(self, cart_id: int) -> dict[str, Any] | None:
        return self._by_id("carts", self._cart_block, self.config.carts, cart_id)

    def cart_indices(self, start: date | None = None, end: date | None = None) -> range:
        """0-based indices (id - 1) of the generated carts dated in [start, end)."""
        low = self._first_cart_on(start) if start else 0
        high = self._first_cart_on(end) if end else self.config.carts
        return range(low, max(low, high))

    def _first_cart_on(self, day: date) -> int:
        seconds = (day - self.config.start_date).days * DAY
        return bisect.bisect_left(range(self.config.carts), seconds, key=self._cart_time)

    def _cart_time(self, index: int) -> int:
        """Seconds from the start of the window to the date of the cart at this 0-based index."""
        return self._cart_header(index // BLOCK).times[index % BLOCK]

    def _has_user(self, user_id: int) -> Callable[[int, int, int], bool]:
        def has_user(block: int, first: int, stop: int) -> bool:
            return user_id in self._cart_header(block).users[first:stop]

        return has_user

    def _generate_cart_header(self, block: int) -> _CartHeader:
        return self._draw_cart_header(self._rng("carts", block), block)

    def _draw_cart_header(self, rng: random.Random, block: int) -> _CartHeader:
        r, count, window, users = rng.random, self.config.carts, self._window, self.config.users
        times = []
        for index in range(block * BLOCK, min((block + 1) * BLOCK, count)):
            slot = index * window // count
            times.append(slot + int(r() * ((index + 1) * window // count - slot)))
        return _CartHeader(times, [1 + int(r() * users) for _ in times])

    def _cart_block(self, block: int) -> list[dict[str, Any]]:
        rng = self._rng("carts", block)
        header = self._draw_cart_header(rng, block)
        r, products, timestamp = rng.random, self.config.products, self._timestamp
        max_lines = min(5, products)
        records = []
        for cart_id, (seconds, user_id) in enumerate(zip(*header, strict=True), start=block * BLOCK + 1):
            chosen: list[int] = []
            lines = []
            for _ in range(1 + int(r() * max_lines)):
                product_id = 1 + int(r() * products)
                while product_id in chosen:
                    product_id = 1 + int(r() * products)
                chosen.append(product_id)
                lines.append({"productId": product_id, "quantity": 1 + int(r() * 10)})
            records.append({"id": cart_id, "userId": user_id, "date": timestamp(seconds), "products": lines, "__v": 0})
        return records

    def _timestamp(self, seconds: int) -> str:
        day, second = divmod(seconds, DAY)
        return self._day_names[day] + _CLOCK_MINUTES[second // 60] + _CLOCK_SECONDS[second % 60]

    # --- shared ---------------------------------------------------------------------------------

    def _rng(self, entity: str, block: int) -> random.Random:
        return random.Random(f"{self.config.seed}/{entity}/{block}")

    def _generate(
        self,
        make_block: Callable[[int], list[dict[str, Any]]],
        indices: range,
        descending: bool,
        wanted: Callable[[int, int, int], bool] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Generated records at the 0-based ``indices``, skipping blocks that ``wanted`` rules out."""
        for block, first, stop in _block_slices(indices, descending):
            if wanted is None or wanted(block, first, stop):
                records = make_block(block)[first:stop]
                yield from reversed(records) if descending else records

    def _by_id(
        self, entity: str, make_block: Callable[[int], list[dict[str, Any]]], count: int, record_id: int
    ) -> dict[str, Any] | None:
        if not 1 <= record_id <= count:
            return None
        record = make_block((record_id - 1) // BLOCK)[(record_id - 1) % BLOCK]
        return self._overrides.apply(SOURCE, entity, record)

    def _patched(
        self,
        entity: str,
        generated: Iterator[dict[str, Any]],
        by_id: Callable[[int], dict[str, Any] | None],
        keep: Callable[[dict[str, Any]], bool],
        descending: bool,
    ) -> Iterator[dict[str, Any]]:
        """``generated`` with patched records taken out, then merged back in where they still ``keep``."""
        patched_ids = self._overrides.ids(SOURCE, entity)
        if not patched_ids:
            return generated
        unpatched = (record for record in generated if record["id"] not in patched_ids)
        patched = [by_id(i) for i in sorted(patched_ids, reverse=descending)]
        kept = [record for record in patched if record is not None and keep(record)]
        return heapq.merge(unpatched, kept, key=itemgetter("id"), reverse=descending)

    def login_token(self, user: dict[str, Any]) -> str:
        """A JWT-shaped token for the user, the same on every run."""
        issued = datetime.combine(self.config.start_date, datetime.min.time(), UTC)
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {"sub": user["id"], "user": user["username"], "iat": int(issued.timestamp())}
        signing_input = b".".join(_b64(orjson.dumps(part)) for part in (header, payload))
        key = f"fakestore-sandbox-{self.config.seed}".encode()
        signature = _b64(hmac.new(key, signing_input, hashlib.sha256).digest())
        return (signing_input + b"." + signature).decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def router(store: FakeStore, today: Callable[[], date] | None = None) -> APIRouter:
    """The Fake Store routes, served from ``store``."""
    api = APIRouter(tags=[SOURCE])

    @api.get("/products")
    def list_products(request: Request) -> Response:
        query = ListQuery.parse(request.query_params)
        return stream_json_array(query.take(store.products(descending=query.descending)))

    @api.get("/products/categories")
    def list_categories() -> Response:
        return json_response(store.categories())

    @api.get("/products/category/{category}")
    def list_category(category: str, request: Request) -> Response:
        query = ListQuery.parse(request.query_params)
        return stream_json_array(query.take(store.products(category, descending=query.descending)))

    @api.get("/products/{product_id}")
    def get_product(product_id: str) -> Response:
        return json_response(store.product(parse_int(product_id, "id")))

    @api.get("/users")
    def list_users(request: Request) -> Response:
        query = ListQuery.parse(request.query_params)
        return stream_json_array(query.take(store.users(descending=query.descending)))

    @api.get("/users/{user_id}")
    def get_user(user_id: str) -> Response:
        return json_response(store.user(parse_int(user_id, "id")))

    @api.get("/carts")
    def list_carts(request: Request) -> Response:
        return _carts(store, request, None, today)

    @api.get("/carts/user/{user_id}")
    def list_user_carts(user_id: str, request: Request) -> Response:
        return _carts(store, request, parse_int(user_id, "userId"), today)

    @api.get("/carts/{cart_id}")
    def get_cart(cart_id: str) -> Response:
        return json_response(store.cart(parse_int(cart_id, "id")))

    @api.post("/auth/login")
    async def login(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not (isinstance(body, dict) and isinstance(body.get("username"), str)):
            raise BadRequest("username and password are not provided in JSON format")
        user = await run_in_threadpool(store.find_user, body["username"])
        if user is None or user.get("password") != body.get("password"):
            return PlainTextResponse("username or password is incorrect", status_code=401)
        return json_response({"token": store.login_token(user)})

    return api


def _carts(store: FakeStore, request: Request, user_id: int | None, today: Callable[[], date] | None) -> Response:
    """The carts a list route answers; with ``today``, none dated on or after that day (not created yet)."""
    query = ListQuery.parse(request.query_params)
    start = parse_date(request.query_params, "startdate")
    end = parse_date(request.query_params, "enddate")
    if today is not None:
        end = min(end, today()) if end else today()
    records = store.carts(start, end, user_id=user_id, descending=query.descending)
    return stream_json_array(query.take(records))


def build_source(config: FakeStoreConfig, overrides: Overrides, clock: SandboxClock) -> Source:
    today = (lambda: clock.now().date()) if config.carts_until_clock else None
    return Source(SOURCE, ENTITIES, router(FakeStore(config, overrides), today), config.as_dict())
