"""HTTP extraction: one retrying ``requests.Session`` per source and a streaming JSON record reader."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import ijson
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from python_scripts.settings import Settings

RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = "elt-platform/0.1 (+batch ELT)"


class ExtractError(RuntimeError):
    """The source could not give a usable response; the message names URL, status and a body excerpt."""

    def __init__(self, url: str, reason: str, status: int | None = None, body: str | bytes | None = None):
        self.url = url
        self.status = status
        self.body_excerpt = _excerpt(body)
        message = f"{reason} (url={url}"
        if status is not None:
            message += f", status={status}"
        if self.body_excerpt:
            message += f", body={self.body_excerpt!r}"
        super().__init__(message + ")")


class CredentialsError(ExtractError):
    """The API key is missing or the API refused it: asking again cannot help, so the task fails at once."""


def _excerpt(body: str | bytes | None, limit: int = 300) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    body = " ".join(body.split())
    return body if len(body) <= limit else body[:limit] + "…"


def build_session(settings: Settings) -> requests.Session:
    """A session that retries connection errors, 429 and 5xx with jittered exponential backoff.

    ``Retry-After`` is honoured for 429 and 503. Attempts are bounded by ``HTTP_MAX_RETRIES``.
    """
    retry = Retry(
        total=settings.http_max_retries,
        connect=settings.http_max_retries,
        read=settings.http_max_retries,
        status=settings.http_max_retries,
        other=0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        backoff_factor=settings.http_backoff_factor,
        backoff_max=settings.http_backoff_max,
        backoff_jitter=settings.http_backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


@dataclass(frozen=True)
class Request:
    """One GET against a source: where, with which query parameters.

    ``secret_params`` (API keys) are sent but never shown: :meth:`describe` leaves them out and
    :meth:`redact` scrubs their values from any text, such as an exception message quoting the URL.
    """

    base_url: str
    path: str
    params: Mapping[str, str]
    secret_params: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/" + self.path.lstrip("/")

    def describe(self) -> str:
        """The URL with its public query, for logs and the lake envelope."""
        prepared = requests.Request("GET", self.url, params=dict(self.params)).prepare()
        return prepared.url or self.url

    def redact(self, text: str) -> str:
        for value in self.secret_params.values():
            if value:
                for form in {value, quote_plus(value), quote(value, safe="")}:
                    text = text.replace(form, "***")
        return text


@dataclass(frozen=True)
class Quarantined:
    """A part of a response that is kept as received but goes to quarantine instead of bronze,
    such as the error body an API sends for one unknown city."""

    record: Any
    reason: str
    path: str = "$"


class SourceThrottled(ExtractError):
    """The source refused the request for now (a rate limit); asking again later may succeed."""


@contextmanager
def open_response(
    session: requests.Session,
    request: Request,
    timeout: tuple[float, float],
    pass_statuses: frozenset[int] = frozenset(),
) -> Iterator[requests.Response]:
    """GET the request (streamed) and yield the response once its status is 200 or one of ``pass_statuses``
    (error answers the caller turns into quarantined records).

    Other statuses (after the session's retries) and non-JSON content types raise ExtractError.
    """
    url = request.describe()
    try:
        response = session.get(
            request.url, params={**request.params, **request.secret_params}, stream=True, timeout=timeout
        )
    except requests.exceptions.RetryError as exc:
        raise ExtractError(url, f"gave up after retries: {request.redact(str(exc))}") from None
    except requests.exceptions.RequestException as exc:
        raise ExtractError(url, f"request failed: {request.redact(str(exc))}") from None
    with response:
        status = response.status_code
        if status != 200 and status not in pass_statuses:
            error = {429: SourceThrottled, 401: CredentialsError}.get(status, ExtractError)
            raise error(url, "unexpected HTTP status", status, request.redact(_text(response.content[:2000])))
        content_type = response.headers.get("Content-Type", "")
        if "json" not in content_type.lower():
            body = request.redact(_text(response.raw.read(2000)))
            raise ExtractError(url, f"expected a JSON content type, got {content_type!r}", status, body)
        response.raw.decode_content = True
        response.raw.auto_close = False  # let the buffered reader see EOF instead of a closed file
        yield response


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def json_records(response: requests.Response, request: Request) -> Iterator[Any]:
    """The default reader: the items of a JSON array body (streamed), or the one object it holds."""
    return iter_records(response.raw, request.describe())


def iter_records(stream: Any, url: str) -> Iterator[Any]:
    """Stream the records of a JSON response: the items of a top-level array, or one object.

    A body of ``null`` (the Fake Store answer for a missing id) yields nothing. Truncated or malformed
    JSON raises ExtractError after the records that parsed, so callers never land a partial batch.
    """
    reader = io.BufferedReader(stream, buffer_size=1 << 16)
    count = 0
    try:
        first = _first_significant_byte(reader)
        if first is None:
            raise ExtractError(url, "empty response body")
        if first == b"n":
            reader.read()
            return
        if first not in (b"[", b"{"):
            raise ExtractError(url, "expected a JSON array or object", body=reader.read(300))
        for record in ijson.items(reader, "item" if first == b"[" else "", use_float=True):
            count += 1
            yield record
    except ijson.JSONError as exc:
        detail = " ".join(str(exc).split())
        raise ExtractError(url, f"truncated or malformed JSON after {count} records: {detail}") from exc
    # A connection reset or read timeout in the middle of the body surfaces from urllib3 itself.
    except (requests.exceptions.RequestException, Urllib3Error, OSError) as exc:
        detail = " ".join(str(exc).split())
        raise ExtractError(url, f"response body interrupted after {count} records: {detail}") from exc


def _first_significant_byte(reader: io.BufferedReader) -> bytes | None:
    """Skip leading whitespace and return the first byte of the document without consuming it."""
    while True:
        chunk = reader.peek(1)
        if not chunk:
            return None
        stripped = chunk.lstrip()
        if stripped:
            reader.read(len(chunk) - len(stripped))
            return stripped[:1]
        reader.read(len(chunk))
