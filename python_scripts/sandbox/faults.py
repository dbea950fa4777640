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
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
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


FAULT_KINDS: dict[str, type[Fault]] = {
    cls.kind: cls for cls in (StatusFault, MalformedFault, TruncateFault, ContentTypeFault, DelayFault)
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
