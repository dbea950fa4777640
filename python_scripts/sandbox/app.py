"""The sandbox application: every source's routes, plus test controls under ``/__sandbox``.

``/__sandbox/health``     GET: status, sources, their settings and the sandbox clock
``/__sandbox/overrides``  GET list, POST ``{"source","entity","id","patch"}`` (deep-merged), DELETE all
``/__sandbox/faults``     GET active faults, POST one (see :mod:`python_scripts.sandbox.faults`), DELETE all
``/__sandbox/requests``   GET the last requests received (method, path, query, status), DELETE
``/__sandbox/clock``      GET the current instant; POST ``{"now": "2025-01-10T12:00:00Z"}`` fixes it
                          (``{"now": null}`` or DELETE: back to the configured instant or the wall clock)
``/__sandbox/quotas``     DELETE: forget the calls counted against every source's rate limits
Requests to ``/__sandbox`` are neither logged nor subject to faults.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from python_scripts.sandbox import alphavantage, fakestore, openweather, orders
from python_scripts.sandbox.clock import SandboxClock, parse_instant
from python_scripts.sandbox.config import SandboxConfig
from python_scripts.sandbox.fakestore import FakeStoreConfig
from python_scripts.sandbox.faults import FaultRegistry
from python_scripts.sandbox.overrides import Overrides
from python_scripts.sandbox.web import BadRequest, Source, bad_request_handler, json_response

ADMIN_PREFIX = "/__sandbox"


class RequestLog:
    """The last ``size`` requests received, oldest first."""

    def __init__(self, size: int = 1000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)

    def record(self, scope: Scope) -> dict[str, Any]:
        query = scope.get("query_string", b"").decode("latin-1")
        entry = {
            "method": scope["method"],
            "path": scope["path"],
            "query": query,
            "params": dict(parse_qsl(query, keep_blank_values=True)),
            "status": None,
            "fault": None,
        }
        with self._lock:
            self._entries.append(entry)
        return entry

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class SandboxMiddleware:
    """Logs each source request and serves the fault registered for it, if any."""

    def __init__(self, app: ASGIApp, faults: FaultRegistry, requests: RequestLog) -> None:
        self.app = app
        self.faults = faults
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        entry = self.requests.record(scope)

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        fault = self.faults.take(scope["method"], scope["path"], query)
        if fault is None:
            await self.app(scope, receive, logged_send)
        else:
            entry["fault"] = fault.kind
            await fault.serve(self.app, scope, receive, logged_send)


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise BadRequest("the body must be JSON") from None


def admin_router(
    sources: dict[str, Source], overrides: Overrides, faults: FaultRegistry, requests: RequestLog, clock: SandboxClock
) -> APIRouter:
    """Routes that let tests inspect and steer the sandbox."""
    api = APIRouter(prefix=ADMIN_PREFIX, tags=["sandbox"])

    @api.get("/health")
    def health() -> Response:
        config = {name: source.config for name, source in sources.items()}
        return json_response({"status": "ok", "sources": list(sources), "config": config, "clock": clock.state()})

    @api.get("/overrides")
    def list_overrides() -> Response:
        return json_response(overrides.listing())

    @api.post("/overrides")
    async def add_override(request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise BadRequest("an override is a JSON object")
        source, entity, record_id, patch = (body.get(k) for k in ("source", "entity", "id", "patch"))
        if not (isinstance(source, str) and source in sources and entity in sources[source].entities):
            raise BadRequest(f"unknown source/entity {source!r}/{entity!r}")
        if not isinstance(record_id, int) or isinstance(record_id, bool) or not isinstance(patch, dict):
            raise BadRequest("id must be an integer and patch a JSON object")
        try:
            merged = overrides.add(source, entity, record_id, patch)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return json_response({"source": source, "entity": entity, "id": record_id, "patch": merged}, 201)

    @api.delete("/overrides")
    def clear_overrides() -> Response:
        overrides.clear()
        return Response(status_code=204)

    @api.get("/faults")
    def list_faults() -> Response:
        return json_response(faults.listing())

    @api.post("/faults")
    async def add_fault(request: Request) -> Response:
        try:
            fault = faults.add(await _json_body(request))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return json_response(fault.describe(), 201)

    @api.delete("/faults")
    def clear_faults() -> Response:
        faults.clear()
        return Response(status_code=204)

    @api.get("/requests")
    def list_requests() -> Response:
        return json_response(requests.listing())

    @api.delete("/requests")
    def clear_requests() -> Response:
        requests.clear()
        return Response(status_code=204)

    @api.get("/clock")
    def get_clock() -> Response:
        return json_response(clock.state())

    @api.post("/clock")
    async def set_clock(request: Request) -> Response:
        body = await _json_body(request)
        if not (isinstance(body, dict) and "now" in body):
            raise BadRequest('the body must be {"now": "<ISO-8601 date and time with a timezone>"} or {"now": null}')
        try:
            clock.fix(None if body["now"] is None else parse_instant(body["now"], "now"))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return json_response(clock.state())

    @api.delete("/clock")
    def reset_clock() -> Response:
        clock.fix(None)
        return Response(status_code=204)

    @api.delete("/quotas")
    def reset_quotas() -> Response:
        for source in sources.values():
            for quota in source.quotas:
                quota.reset()
        return Response(status_code=204)

    return api


def create_app(config: SandboxConfig | FakeStoreConfig | None = None, request_log_size: int = 1000) -> FastAPI:
    """A sandbox serving every source from ``config`` (a bare Fake Store config: the other sources' defaults),
    with its own clock, overrides, faults and request log."""
    config = SandboxConfig.of(config)
    overrides, faults, requests = Overrides(), FaultRegistry(), RequestLog(request_log_size)
    clock = SandboxClock(config.now)
    built = [
        fakestore.build_source(config.fakestore, overrides, clock),
        openweather.build_source(config.openweather, clock, overrides),
        alphavantage.build_source(config.alphavantage, clock),
        orders.build_source(config.orders),
    ]
    sources = {source.name: source for source in built}
    app = FastAPI(
        title="ELT sandbox",
        docs_url=f"{ADMIN_PREFIX}/docs",
        redoc_url=None,
        openapi_url=f"{ADMIN_PREFIX}/openapi.json",
    )
    app.add_exception_handler(BadRequest, bad_request_handler)
    app.add_middleware(SandboxMiddleware, faults=faults, requests=requests)
    app.include_router(admin_router(sources, overrides, faults, requests, clock))
    for source in sources.values():
        app.include_router(source.router)
    return app
