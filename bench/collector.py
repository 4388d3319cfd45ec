"""Load benchmark of the upload collector on loopback: events/s and request latency (p50/p99).

Starts `echo-spark collect` (as `python -m echo_spark.cli collect`) on a free loopback port with a
temporary landing folder (a subprocess, so that clients and server do not share one interpreter
lock), posts
fixed-size batches from a few keep-alive client threads, and stops on its own after `--requests`
requests or `--seconds` seconds, whichever comes first. Every 200 is an fsynced body, so the
figure includes one fdatasync per request: it is the disk's sync latency that bounds it.

    /tmp/venv/bin/python bench/collector.py --threads 4 --requests 2000 --batch 50 [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_collector(landing: Path, token: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "echo_spark.cli", "collect", "--quiet", "--landing", str(landing), "--port", "0"],
        cwd=REPO,
        env={**os.environ, "ECHO_COLLECTOR_TOKEN": token},
        stdout=subprocess.PIPE,
    )
    pending, deadline = b"", time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 1)[0]:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            pending += chunk
            for line in pending.decode().splitlines():
                if line.startswith("listening on http://"):
                    return proc, int(line.rsplit(":", 1)[1])
    proc.kill()
    raise SystemExit("collector did not start")


def batch_body(thread: int, size: int, compress: bool) -> bytes:
    now = int(time.time() * 1000)
    lines = [
        json.dumps({
            "event_id": f"bench-{thread}-{i}", "type": "completion_shown", "ts": now, "session_id": f"bench-{thread}",
            "doc_id": "d", "request_id": f"r{i}", "text": "return sum(xs) / len(xs)", "model": "bench",
        })
        for i in range(size)
    ]
    body = ("\n".join(lines) + "\n").encode()
    return gzip.compress(body) if compress else body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=2000, help="stop after this many requests in all")
    parser.add_argument("--seconds", type=float, default=30.0, help="stop after this long at most")
    parser.add_argument("--batch", type=int, default=50, help="events per request")
    parser.add_argument("--gzip", action="store_true", help="send bodies with Content-Encoding: gzip")
    args = parser.parse_args()

    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        proc, port = start_collector(Path(tmp), token)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        if args.gzip:
            headers["Content-Encoding"] = "gzip"
        lock, latencies, errors = threading.Lock(), [], [0]
        issued = [0]
        stop_at = time.monotonic() + args.seconds

        def client(n: int) -> None:
            body = batch_body(n, args.batch, args.gzip)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while time.monotonic() < stop_at:
                with lock:
                    if issued[0] >= args.requests:
                        break
                    issued[0] += 1
                began = time.perf_counter()
                conn.request("POST", "/v1/events", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter() - began
                with lock:
                    if response.status == 200:
                        latencies.append(elapsed)
                    else:
                        errors[0] += 1
            conn.close()

        began = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        landed = sum(p.stat().st_size for p in Path(tmp).glob("*.jsonl"))

    latencies.sort()
    ok = len(latencies)
    pick = lambda q: latencies[min(ok - 1, int(q * ok))] * 1000 if ok else float("nan")  # noqa: E731
    print(f"requests ok {ok}, errors {errors[0]}, {args.threads} threads, {args.batch} events/request,"
          f" gzip {'on' if args.gzip else 'off'}, {wall:.2f} s")
    print(f"events/s {ok * args.batch / wall:,.0f}   requests/s {ok / wall:,.0f}")
    print(f"latency ms  p50 {pick(0.50):.2f}  p99 {pick(0.99):.2f}  max {latencies[-1] * 1000 if ok else float('nan'):.2f}")
    print(f"landed {landed / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
