"""Injected failures: the faults tests register, and how each kind alters a response.

A fault matches requests by ``path``, a glob in :func:`fnmatch.fnmatchcase` syntax over the URL path
without the query string: ``/carts`` matches only ``/carts``, ``/carts*`` also matches ``/carts/7`` and
``/carts/user/2`` (``*`` crosses ``/``). ``method`` optionally restricts it to one HTTP method.
``params`` optionally restricts it to requests whose query string has every listed parameter with a
value matching the glob given for it (any of the values, when the parameter repeats): ``{"symbol": "IBM"}``
matches ``/query?function=TIME_SERIES_DAILY&symbol=IBM`` but not ``symbol=MSFT`` nor a query without
``symbol``; ``{"symbol": "*"}`` matches any request that has the parameter, even empty.

Faults are checked in the order they were added. Each counts the matching requests it skips
(``after``); the first fault past its ``after`` is served and uses up one of its ``times``; a fault
is dropped once all its ``times`` are used. A new kind is a :class:`Fault` subclass with a ``kind``
name and a ``serve`` method, listed in :data:`FAULT_KINDS`.

The kinds and their options (besides the matching ones above):

``status``        ``status`` (503), ``headers``, ``body`` (a string, or JSON): that response instead of the normal one
``malformed``     ``status`` (200), ``body``: a string that is not JSON, labelled ``application/json``
``truncate``      ``length`` (100): the normal status and headers, then only that many body bytes
``content_type``  ``content_type``: the normal response with that ``content-type``
``delay``         ``seconds`` (1.0): the normal response, that late
``reset``         ``after_bytes`` (null): a TCP reset (RST) of the connection. ``null``: before any byte of the
                  response, so the client sees the connection aborted, not an HTTP error; an integer: after the
                  normal status, headers and that many body bytes (a shorter body is sent whole, and then the
                  client may well see a complete response before the reset). Needs uvicorn's transport,
                  found behind ``send``; where it cannot be reached, ``null`` answers 500 saying so and an integer
                  closes the connection (FIN, not RST) after the bytes.
``slow_body``     ``chunk`` (1024), ``interval`` (0.5): the normal status and headers at once, then the body in
                  pieces of ``chunk`` bytes, ``interval`` seconds apart (a body of one piece is not slowed). Stops
                  sending once the client has gone.
``records``       data faults: alters the JSON records of a normal 2xx JSON response (see :class:`RecordsFault`;
                  it buffers the whole body), re-serialised with a correct ``content-length``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from fnmatch import fnmatchcase
from http import HTTPStatus
from typing import Any, ClassVar

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


def _encode_body(body: Any) -> tuple[bytes, bytes]:
    """Body bytes and content-type: strings as text, anything else as JSON."""
    if isinstance(body, str):
        return body.encode(), b"text/plain; charset=utf-8"
    return orjson.dumps(body), b"application/json"


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _without_header(message: Message, name: bytes) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in message.get("headers", []) if k.lower() != name]


@dataclass(kw_only=True)
class Fault:
    """What every fault has: which requests it matches, how many to skip and how many to alter."""

    kind: ClassVar[str]
    path: str
    method: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    times: int = 1
    after: int = 0
    id: int = field(default=0, init=False)
    skipped: int = field(default=0, init=False)
    served: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        _require(isinstance(self.path, str) and self.path.startswith("/"), "path must start with '/'")
        _require(self.method is None or isinstance(self.method, str), "method must be a string")
        _require(
            isinstance(self.params, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in self.params.items()),
            "params must map parameter names to strings",
        )
        _require(_is_int(self.times) and self.times >= 1, "times must be an integer >= 1")
        _require(_is_int(self.after) and self.after >= 0, "after must be an integer >= 0")
        if self.method:
            self.method = self.method.upper()

    @property
    def remaining(self) -> int:
        return self.times - self.served

    def matches(self, method: str, path: str, params: Mapping[str, Sequence[str]] | None = None) -> bool:
        """Whether a request matches; ``params`` maps each query parameter to its values."""
        params = params or {}
        return (
            (self.method is None or self.method == method)
            and fnmatchcase(path, self.path)
            and all(any(fnmatchcase(v, pattern) for v in params.get(k, ())) for k, pattern in self.params.items())
        )

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self), "remaining": self.remaining}

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request in place of (or by wrapping) the application."""
        raise NotImplementedError


@dataclass(kw_only=True)
class StatusFault(Fault):
    """A response with any status code, optional headers and body (a string, or JSON)."""

    kind: ClassVar[str] = "status"
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(_is_int(self.status) and 100 <= self.status <= 599, "status must be an integer in 100-599")
        _require(
            isinstance(self.headers, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in self.headers.items()),
            "headers must map strings to strings",
        )

    def content(self) -> tuple[bytes, bytes]:
        return _encode_body(_reason(self.status) if self.body is None else self.body)

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        body, content_type = self.content()
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
        if not any(k == b"content-type" for k, _ in headers):
            headers.append((b"content-type", content_type))
        await _respond(send, self.status, headers, body)


@dataclass(kw_only=True)
class MalformedFault(StatusFault):
    """A body that is not JSON, labelled ``application/json``."""

    kind: ClassVar[str] = "malformed"
    status: int = 200
    body: Any = "<html><body><h1>Bad Gateway</h1></body></html>"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(isinstance(self.body, str), "body must be a string")

    def content(self) -> tuple[bytes, bytes]:
        return self.body.encode(), b"application/json"


class _BodyCut(Exception):
    """Raised into the application once a truncated body has been sent."""


@dataclass(kw_only=True)
class TruncateFault(Fault):
    """The normal status and headers, but only the first ``length`` bytes of the body."""

    kind: ClassVar[str] = "truncate"
    length: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(_is_int(self.length) and self.length >= 0, "length must be an integer >= 0")

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        left = self.length

        async def cut(message: Message) -> None:
            nonlocal left
            if message["type"] == "http.response.start":
                message = {**message, "headers": _without_header(message, b"content-length")}
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")[:left]
                left -= len(body)
                if left <= 0 or not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": body, "more_body": False})
                    raise _BodyCut
                message = {**message, "body": body}
            await send(message)

        with contextlib.suppress(_BodyCut):
            await app(scope, receive, cut)


@dataclass(kw_only=True)
class ContentTypeFault(Fault):
    """The normal response with a wrong ``content-type``."""

    kind: ClassVar[str] = "content_type"
    content_type: str = "text/html; charset=utf-8"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(isinstance(self.content_type, str), "content_type must be a string")

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        async def retyped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _without_header(message, b"content-type")
                message = {**message, "headers": [*headers, (b"content-type", self.content_type.encode())]}
            await send(message)

        await app(scope, receive, retyped)


@dataclass(kw_only=True)
class DelayFault(Fault):
    """The normal response, ``seconds`` late."""

    kind: ClassVar[str] = "delay"
    seconds: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(
            isinstance(self.seconds, int | float) and not isinstance(self.seconds, bool) and self.seconds >= 0,
            "seconds must be a number >= 0",
        )

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(self.seconds)
        await app(scope, receive, send)


# --- connection-level faults: reset, slow body ---------------------------------------------------


def _server_cycle(send: Send) -> Any:
    """The server's per-request object behind ``send``: the owner of the first bound method with a
    ``transport`` found through the closures wrapping it (uvicorn's ``RequestResponseCycle.send``, under
    Starlette's and the sandbox's wrappers), or None."""
    stack: list[Any] = [send]
    seen: set[int] = set()
    while stack and len(seen) < 64:
        func = stack.pop()
        if id(func) in seen:
            continue
        seen.add(id(func))
        owner = getattr(func, "__self__", None)
        transport = getattr(owner, "transport", None)
        if transport is not None and hasattr(transport, "abort") and hasattr(transport, "get_extra_info"):
            return owner
        for inner in (getattr(func, "__wrapped__", None), getattr(func, "func", None)):
            if callable(inner):
                stack.append(inner)
        for cell in getattr(func, "__closure__", None) or ():
            with contextlib.suppress(ValueError):  # an empty cell
                if callable(cell.cell_contents):
                    stack.append(cell.cell_contents)
    return None


def _client_gone(cycle: Any) -> bool:
    return cycle is not None and (bool(getattr(cycle, "disconnected", False)) or cycle.transport.is_closing())


async def _reset_connection(cycle: Any) -> None:
    """Abort the connection with an RST (SO_LINGER 0) once what was written has left, and wait until the
    server has noticed, so that it neither answers 500 nor complains about an unfinished response."""
    transport = cycle.transport
    deadline = time.monotonic() + 2.0
    while transport.get_write_buffer_size() and not transport.is_closing() and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError, TypeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    while not getattr(cycle, "disconnected", True) and time.monotonic() < deadline:
        await asyncio.sleep(0.001)


class _Reset(Exception):
    """Raised into the application once the bytes to send before a reset have been sent."""


@dataclass(kw_only=True)
class ResetFault(Fault):
    """A connection reset: before any response byte (``after_bytes`` None), or after the normal status,
    headers and ``after_bytes`` bytes of the body."""

    kind: ClassVar[str] = "reset"
    after_bytes: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(
            self.after_bytes is None or (_is_int(self.after_bytes) and self.after_bytes >= 0),
            "after_bytes must be null or an integer >= 0",
        )

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        cycle = _server_cycle(send)
        if self.after_bytes is None:
            if cycle is None:
                message = b"reset fault: this server's connection cannot be reached, so it cannot be reset"
                await _respond(send, 500, [(b"content-type", b"text/plain; charset=utf-8")], message)
            else:
                await _reset_connection(cycle)
            return
        left = self.after_bytes

        async def cut(message: Message) -> None:
            nonlocal left
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")[:left]
            left -= len(body)
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})
            if left <= 0 or not message.get("more_body", False):
                raise _Reset

        with contextlib.suppress(_Reset):
            await app(scope, receive, cut)
        if cycle is None:
            raise RuntimeError("reset fault: the connection cannot be reset here; dropping it instead")
        await _reset_connection(cycle)


class _ClientGone(Exception):
    """Raised into the application when the client of a slow body has gone."""


@dataclass(kw_only=True)
class SlowBodyFault(Fault):
    """The normal status and headers, then the body in pieces of ``chunk`` bytes, ``interval`` seconds apart."""

    kind: ClassVar[str] = "slow_body"
    chunk: int = 1024
    interval: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(_is_int(self.chunk) and self.chunk >= 1, "chunk must be an integer >= 1")
        _require(
            isinstance(self.interval, int | float) and not isinstance(self.interval, bool) and self.interval >= 0,
            "interval must be a number >= 0",
        )

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        cycle = _server_cycle(send)
        pending = b""
        pieces = 0

        async def emit(piece: bytes, more_body: bool) -> None:
            nonlocal pieces
            if pieces:
                await asyncio.sleep(self.interval)
            if _client_gone(cycle):
                raise _ClientGone
            await send({"type": "http.response.body", "body": piece, "more_body": more_body})
            pieces += 1

        async def paced(message: Message) -> None:
            nonlocal pending
            if message["type"] != "http.response.body":
                await send(message)
                return
            pending += message.get("body", b"")
            more = message.get("more_body", False)
            # Keep up to one piece back while more may come, so that the last piece sent is never empty.
            while len(pending) > self.chunk or (not more and len(pending) == self.chunk):
                piece, pending = pending[: self.chunk], pending[self.chunk :]
                await emit(piece, more_body=more or bool(pending))
            if not more and (pending or not pieces):
                piece, pending = pending, b""
                await emit(piece, more_body=False)

        with contextlib.suppress(_ClientGone):
            await app(scope, receive, paced)


# --- data faults: records ------------------------------------------------------------------------

RECORD_OPS = ("add_field", "drop_field", "set", "duplicate")
_TIME_SERIES = "Time Series (Daily)"


class _RecordsError(Exception):
    """A records fault that does not fit the response it is applied to; answered with HTTP 500."""


def _split_path(path: Any, name: str) -> list[str]:
    _require(isinstance(path, str) and path != "", f"{name} must be a non-empty dotted path")
    parts = path.split(".")
    _require(all(parts), f"{name} {path!r} has an empty segment")
    return parts


def _locate(node: Any, parts: list[str], *, create: bool = False) -> tuple[dict[str, Any] | list[Any], str | int]:
    """The container and key of the dotted path ``parts`` in ``node``; the key may be absent from it.

    A key of an object may itself contain dots (``4. close``): the longest run of segments naming an
    existing key is taken first. A segment under an array is an index. ``create`` adds missing parent objects.
    """
    i = 0
    while True:
        where = ".".join(parts[:i]) or "the record"
        if isinstance(node, list):
            segment = parts[i]
            if not (segment.isdigit() and int(segment) < len(node)):
                raise _RecordsError(f"{where} has no item {segment!r}")
            if i == len(parts) - 1:
                return node, int(segment)
            node, i = node[int(segment)], i + 1
            continue
        if not isinstance(node, dict):
            raise _RecordsError(f"{where} is not an object")
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in node:
                if j == len(parts):
                    return node, key
                node, i = node[key], j
                break
        else:
            if not create:
                return node, ".".join(parts[i:])
            for segment in parts[i:-1]:
                node = node.setdefault(segment, {})
            return node, parts[-1]


def _has(container: dict[str, Any] | list[Any], key: str | int) -> bool:
    return key in container if isinstance(container, dict) else 0 <= int(key) < len(container)


@dataclass(kw_only=True)
class RecordsFault(Fault):
    """Alters the JSON records of the normal response: data faults with a valid body.

    ``op``:
      ``add_field``   adds ``field`` (which the record must not have; missing parent objects are created)
      ``drop_field``  removes ``field`` (which the record must have)
      ``set``         sets ``field`` (which the record must have) to ``value``: another type, null, a very long
                      or non-ASCII or SQL-looking string, any JSON
      ``duplicate``   repeats each selected record right after itself, so ids repeat (arrays of records only)
    ``field``: a dotted path inside a record, e.g. ``rating.rate`` (not used by ``duplicate``); a key that holds
    dots itself (``4. close``) is found as it is, and a segment under an array is an index (``products.0.quantity``).
    ``value``: any JSON (default null), for ``add_field`` and ``set``.
    ``select``: which records, ``"all"`` or a list of 0-based indices (default ``[0]``).
    ``container``: a dotted path to the records in the body, an array (its items) or an object (its values);
    by default a top-level array's items, the values of Alpha Vantage's ``Time Series (Daily)`` (newest first),
    or else the top-level object as the one record (OpenWeather's current weather).

    The whole body is buffered, altered and re-serialised (orjson) with a correct ``content-length``; the status
    and the other headers are kept. Responses that are not 2xx ``application/json`` (or ``+json``), or whose body
    does not parse, pass through unchanged. When the fault does not fit the body (a missing field, an index past
    the records, ``duplicate`` on a map of records or a single object), the answer is HTTP 500 with a plain-text
    message starting ``records fault:``.
    """

    kind: ClassVar[str] = "records"
    op: str | None = None
    field: str | None = None
    value: Any = None
    select: list[int] | str = dataclasses.field(default_factory=lambda: [0])  # not ``field``: an option here
    container: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.op is not None, f"op is required: one of {', '.join(RECORD_OPS)}")
        _require(self.op in RECORD_OPS, f"op must be one of {', '.join(RECORD_OPS)}; got {self.op!r}")
        if self.op == "duplicate":
            _require(self.field is None, "field is not used by the duplicate op")
        else:
            _require(self.field is not None, f"field is required for the {self.op} op")
            _split_path(self.field, "field")
        try:
            orjson.dumps(self.value)
        except orjson.JSONEncodeError as exc:
            raise ValueError(f"value cannot be served as JSON: {exc}") from None
        _require(
            self.select == "all"
            or (isinstance(self.select, list) and self.select and all(_is_int(i) and i >= 0 for i in self.select)),
            'select must be "all" or a non-empty list of record indices >= 0',
        )
        if self.container is not None:
            _split_path(self.container, "container")

    def _records(self, body: Any) -> tuple[list[Any], bool]:
        """The records of ``body`` and whether they are the items of an array (so may be duplicated)."""
        if self.container is not None:
            try:
                parent, key = _locate(body, _split_path(self.container, "container"))
            except _RecordsError:
                parent, key = {}, ""
            if not _has(parent, key):
                raise _RecordsError(f"the body has no container {self.container!r}")
            found = parent[key]  # type: ignore[index]
            if isinstance(found, list):
                return found, True
            if isinstance(found, dict):
                return list(found.values()), False
            raise _RecordsError(f"the container {self.container!r} is neither an array nor an object")
        if isinstance(body, list):
            return body, True
        if isinstance(body, dict) and isinstance(body.get(_TIME_SERIES), dict):
            return list(body[_TIME_SERIES].values()), False
        if isinstance(body, dict):
            return [body], False
        raise _RecordsError("the body holds no records (neither an array nor an object)")

    def _selected(self, count: int) -> list[int]:
        if self.select == "all":
            return list(range(count))
        past = [i for i in self.select if i >= count]
        if past:
            raise _RecordsError(f"select {past} past the {count} record(s) of the response")
        return sorted(set(self.select))

    def alter(self, body: Any) -> Any:
        """``body`` with the selected records altered (in place where it can be); raises :class:`_RecordsError`."""
        records, is_array = self._records(body)
        chosen = self._selected(len(records))
        if self.op == "duplicate":
            if not is_array:
                raise _RecordsError(
                    "duplicate needs an array of records; this body's records are the values of an object "
                    "or a single object"
                )
            wanted = set(chosen)
            records[:] = [copy for i, record in enumerate(records) for copy in [record] * (2 if i in wanted else 1)]
            return body
        parts = _split_path(self.field, "field")
        for i in chosen:
            container, key = _locate(records[i], parts, create=self.op == "add_field")
            exists = _has(container, key)
            if self.op == "add_field" and exists:
                raise _RecordsError(f"record {i} already has the field {self.field!r}")
            if self.op != "add_field" and not exists:
                raise _RecordsError(f"record {i} has no field {self.field!r}")
            if self.op == "drop_field":
                del container[key]  # type: ignore[arg-type]
            else:
                container[key] = orjson.loads(orjson.dumps(self.value))  # type: ignore[index]
        return body

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._finish(send, start or {}, b"".join(chunks))
            else:
                await send(message)

        await app(scope, receive, buffered)

    async def _finish(self, send: Send, start: Message, body: bytes) -> None:
        headers = _without_header(start, b"content-length")
        content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"").split(b";")[0].strip()
        if 200 <= start.get("status", 0) < 300 and (
            content_type == b"application/json" or content_type.endswith(b"+json")
        ):
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                pass
            else:
                try:
                    body = orjson.dumps(self.alter(data))
                except _RecordsError as exc:
                    message = f"records fault: {exc}".encode()
                    await _respond(send, 500, [(b"content-type", b"text/plain; charset=utf-8")], message)
                    return
        await _respond(send, start.get("status", 200), headers, body)


FAULT_KINDS: dict[str, type[Fault]] = {
    cls.kind: cls
    for cls in (
        StatusFault,
        MalformedFault,
        TruncateFault,
        ContentTypeFault,
        DelayFault,
        ResetFault,
        SlowBodyFault,
        RecordsFault,
    )
}


def parse_fault(spec: Any) -> Fault:
    """Build a fault from its JSON description; ``kind`` defaults to ``status``."""
    _require(isinstance(spec, dict), "a fault is a JSON object")
    options = dict(spec)
    kind = options.pop("kind", "status")
    cls = FAULT_KINDS.get(kind) if isinstance(kind, str) else None
    _require(cls is not None, f"unknown fault kind {kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
    accepted = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(options) - accepted)
    _require(not unknown, f"unknown option(s) for {kind!r}: {', '.join(unknown)}")
    _require("path" in options, "path is required")
    return cls(**options)


class FaultRegistry:
    """The active faults of one server, safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: Any) -> Fault:
        fault = parse_fault(spec)
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str, params: Mapping[str, Sequence[str]] | None = None) -> Fault | None:
        """Count one request and return the fault to serve for it, if any; ``params``: the query's values."""
        chosen = None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path, params):
                    continue
                if fault.skipped < fault.after:
                    fault.skipped += 1
                elif chosen is None:
                    chosen = fault
                    fault.served += 1
            self._faults = [f for f in self._faults if f.remaining > 0]
        return chosen

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
