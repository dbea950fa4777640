"""Retry and error behaviour of the extractor against real local HTTP servers."""

import socket
import socketserver
import struct
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from python_scripts.ingest.http import ExtractError, Request, build_session, json_records, open_response

TIMEOUT = (2.0, 5.0)


def fetch(settings, base_url: str, path: str = "/carts") -> list:
    request = Request(base_url, path, {"startdate": "2025-01-15", "enddate": "2025-01-16"})
    with build_session(settings) as session, open_response(session, request, TIMEOUT) as response:
        return list(json_records(response, request))


def respond_in_turn(httpserver: HTTPServer, path: str, responses: list[Response]) -> list[float]:
    """Answer successive requests with the given responses, the last one repeating; return arrival times."""
    arrivals: list[float] = []

    def handler(_request):
        arrivals.append(time.monotonic())
        return responses[min(len(arrivals), len(responses)) - 1]

    httpserver.expect_request(path).respond_with_handler(handler)
    return arrivals


OK = Response('[{"id": 1}, {"id": 2}]', content_type="application/json")


def test_429_with_retry_after_is_honoured(settings, httpserver):
    arrivals = respond_in_turn(httpserver, "/carts", [Response("slow down", 429, {"Retry-After": "1"}), OK])
    assert fetch(settings, httpserver.url_for("/")) == [{"id": 1}, {"id": 2}]
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 0.95


def test_5xx_are_retried_then_succeed(settings, httpserver):
    arrivals = respond_in_turn(httpserver, "/carts", [Response("down", 503), Response("bad gateway", 502), OK])
    assert fetch(settings, httpserver.url_for("/")) == [{"id": 1}, {"id": 2}]
    assert len(arrivals) == 3


def test_query_parameters_are_sent(settings, httpserver):
    httpserver.expect_request(
        "/carts", query_string={"startdate": "2025-01-15", "enddate": "2025-01-16"}
    ).respond_with_json([])
    assert fetch(settings, httpserver.url_for("/")) == []


def test_gives_up_after_bounded_attempts_with_a_clear_error(settings, httpserver):
    arrivals = respond_in_turn(httpserver, "/carts", [Response("maintenance window", 503)])
    with pytest.raises(ExtractError) as info:
        fetch(settings, httpserver.url_for("/"))
    assert len(arrivals) == settings.http_max_retries + 1
    message = str(info.value)
    assert "/carts?startdate=2025-01-15&enddate=2025-01-16" in message
    assert "503" in message


def test_client_errors_are_not_retried(settings, httpserver):
    arrivals = respond_in_turn(httpserver, "/carts", [Response("no such thing", 404)])
    with pytest.raises(ExtractError, match=r"status=404.*no such thing"):
        fetch(settings, httpserver.url_for("/"))
    assert len(arrivals) == 1


def test_truncated_json_is_an_error_not_a_short_batch(settings, httpserver):
    httpserver.expect_request("/carts").respond_with_data('[{"id": 1}, {"id": 2', content_type="application/json")
    with pytest.raises(ExtractError, match="truncated or malformed JSON after 1 records"):
        fetch(settings, httpserver.url_for("/"))


def test_non_json_body_is_an_error(settings, httpserver):
    httpserver.expect_request("/carts").respond_with_data("<html>oops</html>", content_type="text/html")
    with pytest.raises(ExtractError, match=r"expected a JSON content type, got 'text/html'.*oops"):
        fetch(settings, httpserver.url_for("/"))


def test_null_body_means_no_records(settings, httpserver):
    httpserver.expect_request("/carts/99").respond_with_data("null", content_type="application/json")
    assert fetch(settings, httpserver.url_for("/"), "/carts/99") == []


class ResetThenServe(socketserver.ThreadingTCPServer):
    """A real TCP server that resets the first ``resets`` connections, then answers with JSON."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, resets: int):
        self.resets = resets
        self.connections = 0
        super().__init__(("127.0.0.1", 0), self.Handler)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            server = self.server
            server.connections += 1
            self.request.recv(65536)
            if server.connections <= server.resets:
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            body = b'[{"id": 7}]'
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )


@pytest.fixture
def reset_server():
    servers = []

    def start(resets: int) -> ResetThenServe:
        server = ResetThenServe(resets)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_connection_resets_are_retried(settings, reset_server):
    server = reset_server(resets=2)
    host, port = server.server_address
    assert fetch(settings, f"http://{host}:{port}") == [{"id": 7}]
    assert server.connections == 3


def test_connection_resets_forever_give_a_clear_error(settings, reset_server):
    server = reset_server(resets=100)
    host, port = server.server_address
    with pytest.raises(ExtractError, match=rf"request failed.*http://{host}:{port}/carts"):
        fetch(settings, f"http://{host}:{port}")
    assert server.connections == settings.http_max_retries + 1


def test_unreachable_host_is_a_clear_error(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ExtractError, match=f"127.0.0.1:{port}"):
        fetch(settings, f"http://127.0.0.1:{port}")
