"""Each landing file is parsed exactly once, whatever its size and compression.

Sail 0.7 splits a binaryFile scan into byte ranges across the listed files and emits a file's
whole content once per range it crosses: before the fix a 2.5 MB plain file alone gave
lines_read twice its lines and every bad line twice in quarantine's input.
"""

import base64
import gzip
import json
import random

import pytest
from pyspark.sql import functions as F

from echo_spark.ingest.job import ingest
from echo_spark.tables import EVENTS, QUARANTINE

BAD_EVERY = 500  # one invalid-JSON line in this many


def _file(name: str, megabytes: float) -> tuple[bytes, int, int]:
    """About `megabytes` of plain telemetry with a bad line every BAD_EVERY lines: (bytes, lines, bad)."""
    noise = random.Random(name)  # random padding: the gzip files stay about as large as the plain ones
    out, size, n, bad = [], 0, 0, 0
    while size < megabytes * 1_000_000:
        n += 1
        if n % BAD_EVERY == 0:
            line = b'{"event_id": "cut-' + f"{name}-{n}".encode() + b'", "type": "cursor"'
            bad += 1
        else:
            line = json.dumps({"event_id": f"{name}-{n}", "type": "session_end", "ts": 1_714_550_400_000 + n,
                               "session_id": f"s-{name}", "extra_padding": base64.b64encode(noise.randbytes(180)).decode()}).encode()
        out.append(line + b"\n")
        size += len(line) + 1
    return b"".join(out), n, bad


@pytest.mark.sail_only
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_files_on_both_sides_of_the_split_size_are_read_once(spark, lakehouse, config, landing, compressed):
    expected_lines = expected_bad = 0
    for name, megabytes in [("small", 1.0), ("medium", 2.5), ("large", 5.0)]:
        data, lines, bad = _file(name, megabytes * (1.9 if compressed else 1))  # gzip: about half the size
        expected_lines += lines
        expected_bad += bad
        path = landing.write(f"{name}.jsonl" + (".gz" if compressed else ""), gzip.compress(data, mtime=0) if compressed else data)
        assert 0.8 < path.stat().st_size / (megabytes * 1_000_000) < 1.2  # as stored: on both sides of ~2 MB

    metrics = ingest(spark, lakehouse, config, str(landing.root))

    assert metrics["files_read"] == 3
    assert metrics["lines_read"] == expected_lines
    assert metrics["duplicates"] == 0
    assert metrics["quarantined"] == expected_bad
    assert metrics["inserted"] == expected_lines - expected_bad
    quarantine = lakehouse.read(QUARANTINE)
    assert quarantine.count() == expected_bad
    assert quarantine.groupBy("source_file", "source_line").count().filter(F.col("count") > 1).count() == 0
    assert lakehouse.read(EVENTS).count() == expected_lines - expected_bad


@pytest.mark.sail_only
def test_many_small_files_crossing_partition_boundaries_are_read_once(spark, lakehouse, config, landing):
    """Byte ranges also cut through small files when many are listed together."""
    expected = 0
    for i in range(40):
        data, lines, bad = _file(f"f{i}", 0.15)
        expected += lines
        landing.write(f"day/f{i:02d}.jsonl", data)
    metrics = ingest(spark, lakehouse, config, str(landing.root))
    assert (metrics["files_read"], metrics["lines_read"], metrics["duplicates"]) == (40, expected, 0)


@pytest.mark.sail_only
def test_a_uri_landing_is_read_once_per_file_and_only_new_files_next_time(spark, lakehouse, config, landing):
    """A URI (here file://) is listed and read by the engine's binaryFile source: each file still
    counts once, and the next run reads only a new file."""
    expected_lines = expected_bad = 0
    for name, megabytes in [("small", 0.5), ("large", 5.0)]:
        data, lines, bad = _file(name, megabytes)
        expected_lines, expected_bad = expected_lines + lines, expected_bad + bad
        landing.write(f"{name}.jsonl", data)
    uri = "file://" + str(landing.root.resolve())

    metrics = ingest(spark, lakehouse, config, uri)
    assert (metrics["files_read"], metrics["lines_read"], metrics["quarantined"]) == (2, expected_lines, expected_bad)
    assert lakehouse.read(QUARANTINE).count() == expected_bad

    data, lines, _ = _file("later", 0.1)
    landing.write("later.jsonl", data)
    again = ingest(spark, lakehouse, config, uri)
    assert (again["files_skipped"], again["files_read"], again["lines_read"]) == (2, 1, lines)
