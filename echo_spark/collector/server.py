"""The fleet upload path: `POST /v1/events` with telemetry v1 lines, appended durably to landing.

Protocol (what an editor plugin or a completion server has to do):
- `POST /v1/events` (or `/`), body = telemetry v1 JSON Lines, optionally `Content-Encoding: gzip`,
  with a `Content-Length` (no chunked bodies) and `Authorization: Bearer <token>`.
- 200 `{"accepted": n}` only once the lines are fsynced to landing (`rotation.py`).
- 400 `{"error", "line", "reason", "detail"}` when a line fails the ingest parser
  (`echo_spark.telemetry.parse.parse_line`). One bad line rejects the whole body and nothing of it is
  written: a client that fixes or drops the line and resends does not duplicate the good part, and
  "200 = all stored, anything else = nothing stored" is the simplest contract for at-least-once
  clients. Blank lines are ignored.
- 401 without the right token (compared in constant time), 411 without a length, 413 over
  `collector.max_body_bytes` (compressed, or once decoded: a small gzip bomb is refused too),
  415 for another encoding, 503 while shutting down. Anything but 200 means "resend"; duplicates
  are removed downstream by `event_id`.
- `GET /healthz` answers 200 `ok` without a token (for readiness probes).
The token is never logged: the log holds the peer, path, status and reason of failed requests only.

Started by `echo-spark collect --landing DIR [--port N]` (collector/job.py), which prints
`listening on http://HOST:PORT` when ready.
"""

from __future__ import annotations

import hmac
import json
import sys
import threading
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from ..telemetry.landing import GZIP_MAGIC, iter_lines
from ..telemetry.parse import ParseLimits, Quarantined, parse_line
from .rotation import LandingClosed, RotatingLanding

EVENT_PATHS = frozenset({"/v1/events", "/"})


@dataclass(frozen=True)
class CollectorSettings:
    host: str
    port: int
    token: str
    max_body_bytes: int
    limits: Callable[[datetime], ParseLimits]  # ts bounds move with the clock, like ingest's


class BodyError(Exception):
    def __init__(self, status: HTTPStatus, payload: dict[str, Any]):
        super().__init__(payload.get("error"))
        self.status = status
        self.payload = payload


def gunzip_limited(data: bytes, limit: int) -> bytes:
    """Every gzip member of `data`, refusing more than `limit` decoded bytes."""
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error as err:
            raise BodyError(HTTPStatus.BAD_REQUEST, {"error": "bad_gzip", "detail": str(err)[:200]}) from None
        if len(out) > limit:
            raise BodyError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "too_large", "limit": limit})
        if not inflater.eof:
            raise BodyError(HTTPStatus.BAD_REQUEST, {"error": "bad_gzip", "detail": "truncated"})
        rest = inflater.unused_data
    return bytes(out)


def accepted_lines(text: bytes, limits: ParseLimits) -> list[bytes]:
    """The body's non-blank lines, each newline-terminated, or a BodyError for the first bad one."""
    if text.startswith(GZIP_MAGIC):
        raise BodyError(HTTPStatus.BAD_REQUEST, {"error": "nested_gzip"})
    lines = []
    for line in iter_lines(text):
        if not line.data.strip():
            continue
        verdict = parse_line(line.data, line.complete, limits)
        if isinstance(verdict, Quarantined):
            raise BodyError(
                HTTPStatus.BAD_REQUEST,
                {"error": "invalid_line", "line": line.number, "reason": verdict.reason, "detail": verdict.detail},
            )
        lines.append(line.data + b"\n")
    if not lines:
        raise BodyError(HTTPStatus.BAD_REQUEST, {"error": "empty_body"})
    return lines


class CollectorServer(ThreadingHTTPServer):
    daemon_threads = True  # keep-alive clients must not hold up shutdown
    block_on_close = False

    def __init__(self, settings: CollectorSettings, landing: RotatingLanding):
        super().__init__((settings.host, settings.port), CollectorHandler)
        self.settings = settings
        self.landing = landing
        self._expected = f"Bearer {settings.token}".encode("utf-8")
        self._counts: Counter = Counter()
        self._counts_lock = threading.Lock()

    def authorized(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode("utf-8", "replace"), self._expected)

    def count(self, **increments: int) -> None:
        with self._counts_lock:
            self._counts.update(increments)

    def metrics(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self._counts)

    def service_actions(self) -> None:
        """Called by serve_forever between polls: closes a file that has been open long enough."""
        self.landing.rotate_if_due()


class CollectorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: plugins send many small bodies
    timeout = 60  # seconds a silent connection may hold a thread
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: CollectorServer

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(HTTPStatus.OK, {"status": "ok"})
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "not_found"})

    def do_POST(self) -> None:
        settings = self.server.settings
        if self.path.split("?", 1)[0] not in EVENT_PATHS:
            return self._fail(HTTPStatus.NOT_FOUND, {"error": "not_found"}, drain=True)
        if not self.server.authorized(self.headers.get("Authorization")):
            return self._fail(HTTPStatus.UNAUTHORIZED, {"error": "unauthorized"}, drain=True)
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return self._fail(HTTPStatus.LENGTH_REQUIRED, {"error": "length_required"}, close=True)
        if int(length) > settings.max_body_bytes:
            return self._fail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "too_large", "limit": settings.max_body_bytes}, close=True)
        body = self.rfile.read(int(length))
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        try:
            if encoding == "gzip" or body.startswith(GZIP_MAGIC):
                body = gunzip_limited(body, settings.max_body_bytes)
            elif encoding != "identity":
                raise BodyError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "unsupported_encoding"})
            lines = accepted_lines(body, settings.limits(datetime.now(timezone.utc)))
            self.server.landing.append(b"".join(lines))
        except BodyError as err:
            return self._fail(err.status, err.payload)
        except LandingClosed:
            return self._fail(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "shutting_down"}, close=True)
        except OSError as err:
            return self._fail(HTTPStatus.INSUFFICIENT_STORAGE, {"error": "write_failed", "detail": err.strerror}, close=True)
        self.server.count(bodies_accepted=1, events_accepted=len(lines))
        self._reply(HTTPStatus.OK, {"accepted": len(lines)})

    def _fail(self, status: HTTPStatus, payload: dict[str, Any], drain: bool = False, close: bool = False) -> None:
        """Answer an error; unread bodies are drained (small) or the connection closed (large)."""
        if drain:
            length = self.headers.get("Content-Length", "")
            if length.isdigit() and int(length) <= self.server.settings.max_body_bytes:
                self.rfile.read(int(length))
            else:
                close = True
        self.server.count(**{f"status_{int(status)}": 1})
        self.log_message("%s %s -> %d %s", self.command, self.path.split("?", 1)[0], int(status), payload.get("error"))
        self._reply(status, payload, close)

    def _reply(self, status: HTTPStatus, payload: dict[str, Any], close: bool = False) -> None:
        data = json.dumps(payload).encode("utf-8") + b"\n"
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == HTTPStatus.UNAUTHORIZED:
            self.send_header("WWW-Authenticate", "Bearer")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        sys.stderr.write(f"[collect] {self.address_string()} {format % args}\n")

