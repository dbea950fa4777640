"""HTTP helpers shared by the source routers: query parsing, errors and (streamed) JSON responses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from python_scripts.sandbox.quotas import Quota

JSON = "application/json"
CHUNK_RECORDS = 1000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Source:
    """One emulated API: its name, the entities overrides may target, its routes, its settings and the
    request quotas it enforces (reset through ``DELETE /__sandbox/quotas``)."""

    name: str
    entities: tuple[str, ...]
    router: APIRouter
    config: dict[str, Any]
    quotas: tuple[Quota, ...] = ()


class BadRequest(Exception):
    """A request parameter the API rejects; answered with HTTP 400 and a JSON error body."""


async def bad_request_handler(request: Request, exc: Exception) -> Response:
    return json_response({"status": "error", "message": str(exc)}, status_code=400)


def json_response(data: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status_code, media_type=JSON)


def json_array_chunks(records: Iterable[Any], chunk_records: int = CHUNK_RECORDS) -> Iterator[bytes]:
    """Serialise records as one JSON array, ``chunk_records`` records per yielded chunk."""
    records = iter(records)
    opening = b"["
    while chunk := list(islice(records, chunk_records)):
        yield opening + orjson.dumps(chunk)[1:-1]
        opening = b","
    yield b"[]" if opening == b"[" else b"]"


def stream_json_array(records: Iterable[Any]) -> StreamingResponse:
    return StreamingResponse(json_array_chunks(records), media_type=JSON)


def parse_int(value: str, name: str) -> int:
    if not re.fullmatch(r"-?\d+", value):
        raise BadRequest(f"{name} must be an integer, got {value!r}")
    return int(value)


def parse_date(params: Mapping[str, str], name: str) -> date | None:
    """A ``YYYY-MM-DD`` query parameter, or None when absent or empty."""
    value = params.get(name, "")
    if not value:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be a date formatted YYYY-MM-DD, got {value!r}") from None


@dataclass(frozen=True)
class ListQuery:
    """The ``limit`` (0 or absent: everything) and ``sort`` (by id, ``asc`` or ``desc``) of a list."""

    limit: int = 0
    descending: bool = False

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ListQuery:
        limit = parse_int(params["limit"], "limit") if params.get("limit") else 0
        if limit < 0:
            raise BadRequest(f"limit must be >= 0, got {limit}")
        sort = params.get("sort") or "asc"
        if sort not in ("asc", "desc"):
            raise BadRequest(f"sort must be 'asc' or 'desc', got {sort!r}")
        return cls(limit=limit, descending=sort == "desc")

    def take(self, records: Iterable[Any]) -> Iterator[Any]:
        return islice(records, self.limit) if self.limit else iter(records)
