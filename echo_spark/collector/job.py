"""`echo-spark collect --landing DIR [--port N]`: run the upload collector until SIGINT/SIGTERM.

Serves `POST /v1/events` (see `server.py`) and appends to rotating files in DIR (see
`rotation.py`), which `echo-spark ingest --landing DIR` reads. On stop it closes the open file, so
everything acknowledged is in a `.jsonl` file; after a crash the next start does the same.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from ..config import EchoConfig
from ..errors import UsageError
from ..telemetry.parse import ParseLimits
from .rotation import RotatingLanding, RotationPolicy
from .server import CollectorServer, CollectorSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--landing", required=True, metavar="DIR", help="landing folder to append to (created)")
    parser.add_argument("--port", type=int, metavar="N", help="port (default: collector.port; 0 = any free port)")


def settings_from_config(config: EchoConfig, port: int | None = None) -> CollectorSettings:
    collector, ingest = config.collector, config.ingest
    token = collector.token.get_secret_value() if collector.token else os.environ.get(collector.token_env, "")
    if not token:
        raise UsageError(f"no upload token: set ${collector.token_env} (or collector.token)")
    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: expected 0..65535")

    def limits(now: datetime) -> ParseLimits:
        return ParseLimits.for_run(ingest.max_json_depth, ingest.min_ts, ingest.max_future_skew_hours, now)

    return CollectorSettings(collector.host, collector.port if port is None else port, token, collector.max_body_bytes, limits)


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    settings = settings_from_config(config, args.port)
    policy = RotationPolicy(config.collector.rotate_bytes, config.collector.rotate_seconds)
    landing = RotatingLanding(Path(args.landing), policy)
    try:
        server = CollectorServer(settings, landing)
    except OSError as err:
        landing.close()
        raise UsageError(f"cannot listen on {settings.host}:{settings.port}: {err.strerror}") from None
    for item in landing.recovered:
        print(f"recovered {item.path.name} (cut {item.cut_bytes} byte(s) of a partial last line)", flush=True)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass  # the normal way to stop: fall through to close the open file
    finally:
        server.server_close()
        landing.close()
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    return {**server.metrics(), "files_closed": landing.files_closed, "files_recovered": len(landing.recovered)}


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt()
