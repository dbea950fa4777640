"""What a source declares, and how a data interval becomes its requests.

A source is one module of this package (``python_scripts/sources/<name>.py``) holding a ``SOURCE``: its
settings (a ``SourceSettings`` class: base URL, API key, lists it is partitioned by), its entities, and the
DAG that runs it. An entity declares:

* ``path`` and ``params``: the request for one call (interval, settings and, for partitioned entities,
  the partition);
* ``partitions``: the settings list an entity is fetched per item of (weather per city, prices per
  ticker), one extraction, lake object and bronze batch per item;
* ``reader``: how a response becomes records, or quarantined parts, or a failure;
* ``pass_statuses``: HTTP error statuses whose body is quarantined instead of failing the extraction;
* ``key``: the fields that identify a record within one batch; a record repeating a key already seen in
  the batch is quarantined as a duplicate.

Its JSON Schemas are ``schemas/<source>/<entity>.json`` beside the modules, its staging models in dbt.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from python_scripts.ingest.http import CredentialsError, Request, json_records
from python_scripts.settings import Settings, SettingsGroup

Reader = Callable[[requests.Response, Request], Iterator[Any]]


class SourceSettings(SettingsGroup):
    """A source's settings: a ``base_url`` field, an ``api_key`` field (a ``SecretStr``) if the API takes a key,
    and whatever else its requests and partitions read."""

    base_url: str
    # A source with windowed entities declares these as settings of its own (see ingest.state): ask for the
    # whole history on every run instead of from the cursor, and how far before the cursor to ask again.
    full_refresh: bool = False
    lookback_days: int = 0


@dataclass(frozen=True)
class Window:
    """The records an extraction asks for: dated in ``[start, end)``; ``start`` None for the whole history."""

    start: datetime | None
    end: datetime

    @property
    def whole_history(self) -> bool:
        return self.start is None

    def to_dict(self) -> dict[str, str | None]:
        return {"start": self.start.isoformat() if self.start else None, "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> Window:
        start, end = data["start"], data["end"]
        return cls(datetime.fromisoformat(start) if start else None, datetime.fromisoformat(str(end)))


@dataclass(frozen=True)
class Call:
    """Everything one extraction's requests depend on."""

    interval_start: datetime
    interval_end: datetime
    config: SourceSettings
    partition: str | None = None
    window: Window | None = None  # a windowed entity's: the records to ask for (ingest.state.plan_window)


def _no_params(call: Call) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Entity:
    name: str
    path: str
    params: Callable[[Call], Mapping[str, str]] = _no_params
    reader: Reader = json_records
    partitions: Callable[[Any], tuple[str, ...]] | None = None  # the source's settings -> partitions
    pass_statuses: frozenset[int] = frozenset()
    windowed: bool = False  # asked for the records dated in a window from its cursor (ingest.state)
    key: tuple[str, ...] = ()


# The first data interval of every DAG: logical dates before it create no runs.
START_DATE = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Dag:
    """The ingest DAG of a source: its id, its cron schedule (data intervals, UTC) and what else it needs."""

    dag_id: str
    cron: str
    start_date: datetime = START_DATE
    extract_pool: str | None = None  # an Airflow pool (airflow/pools.json) that caps concurrent extractions


@dataclass(frozen=True)
class Source:
    name: str
    settings: type[SourceSettings]
    entities: tuple[Entity, ...]
    dag: Dag
    doc: str = ""  # the module's docstring: the DAG's documentation in the Airflow UI
    api_key_param: str | None = None  # the query parameter the API key goes in
    sandboxed: bool = False  # the sandbox API serves it: `make run` points it there while its base URL is unset

    def __post_init__(self):
        fields = self.settings.model_fields
        if "base_url" not in fields or not isinstance(fields["base_url"].validation_alias, str):
            raise TypeError(f"{self.settings.__name__} must declare base_url with setting(...)")
        if self.api_key_param and "api_key" not in fields:
            raise TypeError(f"{self.settings.__name__} must declare api_key: the API takes one")

    @property
    def entity_names(self) -> list[str]:
        return [entity.name for entity in self.entities]

    def entity(self, name: str) -> Entity:
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(f"source {self.name!r} has no entity {name!r}; known: {self.entity_names}")

    @property
    def base_url_variable(self) -> str:
        return str(self.settings.model_fields["base_url"].validation_alias)

    @property
    def api_key_variable(self) -> str | None:
        return str(self.settings.model_fields["api_key"].validation_alias) if self.api_key_param else None

    def parts(self, settings: Settings) -> list[dict[str, str]]:
        """One ``{"entity", "partition"?}`` per extraction a run makes: what an ingest DAG maps over."""
        config = settings.source(self.name)
        parts: list[dict[str, str]] = []
        for entity in self.entities:
            if entity.partitions is None:
                parts.append({"entity": entity.name})
            else:
                parts += [{"entity": entity.name, "partition": item} for item in entity.partitions(config)]
        return parts

    def requests(self, entity: str, call: Call, api_key: str | None = None) -> list[Request]:
        """The requests of one extraction; ``api_key`` overrides the key from the settings."""
        spec = self.entity(entity)
        if spec.partitions is not None and not call.partition:
            raise ValueError(f"{self.name}/{entity} is fetched per partition; pass one")
        secret_params: dict[str, str] = {}
        if self.api_key_param:
            configured = call.config.api_key
            key = api_key or (configured.get_secret_value() if configured else None)
            if not key:
                raise CredentialsError(
                    f"{call.config.base_url}{spec.path}",
                    f"no API key: set {self.api_key_variable} or the Airflow connection {self.name!r}",
                )
            secret_params[self.api_key_param] = key
        return [Request(call.config.base_url, spec.path, dict(spec.params(call)), secret_params)]


BRONZE_SCHEMA = "bronze"


def bronze_table_parts(source: str, entity: str) -> tuple[str, str]:
    """The schema and table of a source entity's bronze table: ``("bronze", "<source>_<entity>")``."""
    return BRONZE_SCHEMA, f"{source}_{entity}"


def bronze_table_name(source: str, entity: str) -> str:
    """The schema-qualified name of a source entity's bronze table, as text: ``bronze.<source>_<entity>``."""
    return ".".join(bronze_table_parts(source, entity))


def partition_slug(partition: str) -> str:
    """A lowercase ASCII label for a partition, used in batch ids and lake keys: ``São Paulo,BR`` →
    ``sao-paulo-br``."""
    ascii_text = unicodedata.normalize("NFKD", partition).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        raise ValueError(f"partition {partition!r} has no letters or digits")
    return slug
