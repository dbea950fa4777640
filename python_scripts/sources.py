"""What each source serves: its endpoints and how a data interval becomes request parameters.

A new source is a declaration here plus a JSON Schema per entity under ``schemas/<source>/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from python_scripts.extract import Request
from python_scripts.settings import Settings


@dataclass(frozen=True)
class Entity:
    """One endpoint. ``windowed`` entities are asked only for the data interval (``startdate``/``enddate``);
    the others are full snapshots taken on every run."""

    name: str
    path: str
    windowed: bool = False


@dataclass(frozen=True)
class Source:
    name: str
    base_url_setting: str
    entities: Mapping[str, Entity] = field(default_factory=dict)

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise KeyError(f"source {self.name!r} has no entity {name!r}; known: {sorted(self.entities)}") from None

    def requests(
        self,
        entity: str,
        interval_start: datetime,
        interval_end: datetime,
        settings: Settings,
        full_history: bool = False,
    ) -> list[Request]:
        """The requests for one entity and interval; ``full_history`` drops the window (first load)."""
        spec = self.entity(entity)
        params: dict[str, str] = {}
        if spec.windowed and not full_history:
            params = {"startdate": f"{interval_start:%Y-%m-%d}", "enddate": f"{interval_end:%Y-%m-%d}"}
        return [Request(getattr(settings, self.base_url_setting), spec.path, params)]


FAKESTORE = Source(
    name="fakestore",
    base_url_setting="fakestore_base_url",
    entities={
        "products": Entity("products", "/products"),
        "users": Entity("users", "/users"),
        "carts": Entity("carts", "/carts", windowed=True),
    },
)

SOURCES: dict[str, Source] = {source.name: source for source in (FAKESTORE,)}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {sorted(SOURCES)}") from None
