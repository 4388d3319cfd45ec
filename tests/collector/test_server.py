"""The collector over real loopback HTTP, in this process (the crash test runs it as a subprocess)."""

import gzip
import http.client
import json
import threading

import pytest

from echo_spark.collector.rotation import RotatingLanding, RotationPolicy
from echo_spark.collector.server import CollectorServer, CollectorSettings
from echo_spark.telemetry.parse import ParseLimits

TOKEN = "s3cret-token-for-tests"
LIMITS = ParseLimits(max_json_depth=64, min_ts_ms=946_684_800_000, max_ts_ms=4_102_444_800_000)


def event(i: int, **extra) -> bytes:
    return json.dumps({"event_id": f"e{i}", "type": "session_end", "ts": 1715677201000, "session_id": "s", **extra}).encode()


class Collector:
    def __init__(self, root, max_body_bytes=4096):
        settings = CollectorSettings("127.0.0.1", 0, TOKEN, max_body_bytes, lambda now: LIMITS)
        self.landing = RotatingLanding(root, RotationPolicy(1 << 20, 3600))
        self.server = CollectorServer(settings, self.landing)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()
        self.root = root

    def post(self, body: bytes, token: str | None = TOKEN, headers=None, path="/v1/events"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = {"Authorization": f"Bearer {token}"} if token else {}
        all_headers.update(headers or {})
        conn.request("POST", path, body=body, headers=all_headers)
        response = conn.getresponse()
        result = response.status, json.loads(response.read())
        conn.close()
        return result

    def stop(self) -> bytes:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()
        self.landing.close()
        return b"".join(p.read_bytes() for p in sorted(self.root.glob("*.jsonl")))


@pytest.fixture
def collector(tmp_path):
    c = Collector(tmp_path)
    yield c
    if c.thread.is_alive():
        c.stop()


def test_accepted_lines_are_landed(collector):
    assert collector.post(event(1) + b"\n" + event(2)) == (200, {"accepted": 2})
    assert collector.post(gzip.compress(event(3) + b"\n\n"), headers={"Content-Encoding": "gzip"}) == (200, {"accepted": 1})
    assert collector.stop() == b"\n".join([event(1), event(2), event(3)]) + b"\n"


def test_one_bad_line_rejects_the_whole_body(collector):
    status, payload = collector.post(event(1) + b"\n" + event(2, type="teleport") + b"\n" + event(3))
    assert status == 400
    assert payload == {"error": "invalid_line", "line": 2, "reason": "unknown_type", "detail": "teleport"}
    assert collector.post(b"{not json\n")[1]["reason"] == "invalid_json"
    assert collector.post(b"\n \n") == (400, {"error": "empty_body"})
    assert collector.stop() == b""


@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x"])
def test_the_token_is_required(collector, token):
    assert collector.post(event(1) + b"\n", token=token) == (401, {"error": "unauthorized"})
    assert collector.stop() == b""


def test_size_limits_hold_before_and_after_gzip(collector):
    assert collector.post(b" " * 5000 + event(1))[0] == 413
    bomb = gzip.compress(event(1) + b"\n" + b" " * 100_000 + b"\n")
    assert len(bomb) < 4096
    assert collector.post(bomb, headers={"Content-Encoding": "gzip"}) == (413, {"error": "too_large", "limit": 4096})
    assert collector.post(b"\x1f\x8b\x08garbage", headers={"Content-Encoding": "gzip"})[1]["error"] == "bad_gzip"
    assert collector.post(event(1), headers={"Content-Encoding": "br"}) == (415, {"error": "unsupported_encoding"})
    assert collector.stop() == b""


def test_health_and_unknown_paths(collector):
    conn = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=30)
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b'{"status": "ok"}\n')
    conn.close()
    assert collector.post(event(1) + b"\n", path="/v2/other")[0] == 404


def test_keep_alive_connections_serve_many_bodies(collector):
    conn = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=30)
    for i in range(3):
        conn.request("POST", "/v1/events", body=event(i) + b"\n", headers={"Authorization": f"Bearer {TOKEN}"})
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Connection") != "close"
        response.read()
    conn.close()
    assert collector.stop().count(b"\n") == 3


def test_the_token_never_reaches_the_log(collector, capfd):
    collector.post(event(1) + b"\n", token="wrong")
    collector.post(event(1, type="teleport") + b"\n")
    collector.post(event(2) + b"\n")
    collector.stop()
    out, err = capfd.readouterr()
    assert "401" in err and "400" in err
    assert TOKEN not in out + err and "wrong" not in out + err
