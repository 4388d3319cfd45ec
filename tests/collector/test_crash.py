"""SIGKILL the collector mid-stream: every acknowledged event is in landing, once after dedup.

Four client threads post batches with unique event ids and resend whatever was not answered 200
(at-least-once). The collector runs as a subprocess; once some batches are acknowledged it is
killed with SIGKILL, a torn write is added to the file it had open (as if the kill had cut a
write in half), and a new collector is started on the same folder. That restart closes the
leftover file, cutting the torn line; the clients finish against it; it is then stopped with
SIGTERM. Landing is read the way ingest reads it.
"""

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from echo_spark.telemetry.landing import iter_lines
from echo_spark.telemetry.parse import ParseLimits, Quarantined, parse_line

REPO = Path(__file__).resolve().parents[2]
TOKEN = "crash-test-token"
LIMITS = ParseLimits(max_json_depth=64, min_ts_ms=946_684_800_000, max_ts_ms=4_102_444_800_000)
THREADS, BATCHES, PER_BATCH = 4, 40, 25
TORN = b'{"event_id": "torn-by-the-kill", "type": "sess'


def start(landing: Path, log: Path, metrics: Path) -> tuple[subprocess.Popen, int, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "echo_spark.cli", "collect", "--quiet", "--landing", str(landing), "--port", "0",
         "--metrics-json", str(metrics)],
        cwd=REPO,
        env={**os.environ, "ECHO_COLLECTOR_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=log.open("ab"),
    )
    said, pending = [], b""
    deadline = time.monotonic() + 60  # a hang guard, not a performance claim
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if not ready:
            continue
        chunk = os.read(proc.stdout.fileno(), 4096)  # unbuffered: select must see what is unread
        assert chunk, f"collector exited: {log.read_text()}"
        pending += chunk
        *lines, pending = pending.split(b"\n")
        said += [line.decode() for line in lines]
        for line in said:
            if line.startswith("listening on http://"):
                return proc, int(line.rsplit(":", 1)[1]), said
    proc.kill()
    raise AssertionError("collector did not start")


class Client(threading.Thread):
    def __init__(self, n: int, target: dict):
        super().__init__(daemon=True)
        self.pending = [
            [f"t{n}-b{b}-e{i}" for i in range(PER_BATCH)] for b in range(BATCHES)
        ]
        self.acked: list[str] = []
        self.target = target
        self.lock = threading.Lock()

    def run(self):
        conn = None
        while self.pending:
            ids = self.pending[0]
            body = b"".join(
                json.dumps({"event_id": i, "type": "session_end", "ts": 1715677201000, "session_id": "s"}).encode() + b"\n"
                for i in ids
            )
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.target["port"], timeout=10)
                conn.request("POST", "/v1/events", body=body, headers={"Authorization": f"Bearer {TOKEN}"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
            if ok:
                with self.lock:
                    self.acked.extend(self.pending.pop(0))
            else:  # not known to be stored: resend, to whichever collector is up
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
        if conn is not None:
            conn.close()

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)


def test_sigkill_loses_no_acknowledged_event(tmp_path):
    landing, log = tmp_path / "landing", tmp_path / "collector.log"
    metrics = tmp_path / "metrics.json"
    first, port, _ = start(landing, log, metrics)
    target = {"port": port}
    clients = [Client(n, target) for n in range(THREADS)]
    for client in clients:
        client.start()
    deadline = time.monotonic() + 60
    while sum(c.acked_count() for c in clients) < THREADS * BATCHES * PER_BATCH // 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    acked_before_kill = sum(c.acked_count() for c in clients)
    assert 0 < acked_before_kill < THREADS * BATCHES * PER_BATCH

    (left_open,) = landing.glob("*.jsonl.open")  # rotation is by 64 MiB / 5 min: the file was open
    # The kernel stops a write at a page boundary on SIGKILL, so the kill may itself have cut a
    # body (never acknowledged) after some of its bytes: that tail is cut along with the torn line.
    killed_tail = len(left_open.read_bytes().rpartition(b"\n")[2])
    with left_open.open("ab") as fh:
        fh.write(TORN)

    second, target["port"], said = start(landing, log, metrics)
    cut = f"cut {killed_tail + len(TORN)} byte(s)"
    assert any(line.startswith("recovered ") and cut in line for line in said), said
    for client in clients:
        client.join(timeout=120)
        assert not client.is_alive()
    second.send_signal(signal.SIGTERM)
    second.communicate(timeout=60)
    assert second.returncode == 0 and json.loads(metrics.read_text())["files_recovered"] == 1

    assert not list(landing.glob("*.jsonl.open"))
    landed: list[str] = []
    for path in sorted(landing.glob("*.jsonl")):
        for line in iter_lines(path.read_bytes()):
            verdict = parse_line(line.data, line.complete, LIMITS)
            assert line.complete and not isinstance(verdict, Quarantined), (path.name, line.number, line.data[:80])
            landed.append(verdict["event_id"])
    acked = [i for c in clients for i in c.acked]
    assert len(acked) == len(set(acked)) == THREADS * BATCHES * PER_BATCH
    assert set(landed) == set(acked)  # each acknowledged event once after dedup, and nothing else
    assert TOKEN not in log.read_text()
