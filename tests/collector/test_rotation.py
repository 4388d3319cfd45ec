import os

import pytest

from echo_spark.collector import rotation
from echo_spark.collector.rotation import LandingClosed, RotatingLanding, RotationPolicy
from echo_spark.errors import UsageError


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def files(root, suffix):
    return sorted(p.name for p in root.glob(f"*{suffix}"))


def contents(root):
    return b"".join(p.read_bytes() for p in sorted(root.glob("*.jsonl")))


def test_appends_go_to_an_open_file_that_rotation_renames(tmp_path):
    landing = RotatingLanding(tmp_path, RotationPolicy(max_bytes=10, max_seconds=60))
    landing.append(b"aaaa\n")
    assert len(files(tmp_path, ".jsonl.open")) == 1 and files(tmp_path, ".jsonl") == []
    landing.append(b"bbbbbb\n")  # 12 bytes >= 10: closed
    assert files(tmp_path, ".jsonl.open") == [] and len(files(tmp_path, ".jsonl")) == 1
    landing.append(b"c\n")
    landing.close()
    assert files(tmp_path, ".jsonl.open") == [] and len(files(tmp_path, ".jsonl")) == 2
    assert contents(tmp_path) == b"aaaa\nbbbbbb\nc\n"
    assert landing.files_closed == 2
    with pytest.raises(LandingClosed):
        landing.append(b"d\n")


def test_time_rotation_closes_an_idle_file(tmp_path):
    clock = Clock()
    landing = RotatingLanding(tmp_path, RotationPolicy(max_bytes=1 << 20, max_seconds=30), clock)
    landing.append(b"x\n")
    clock.now = 29
    landing.rotate_if_due()
    assert len(files(tmp_path, ".jsonl.open")) == 1
    clock.now = 30
    landing.rotate_if_due()
    assert files(tmp_path, ".jsonl.open") == [] and len(files(tmp_path, ".jsonl")) == 1
    landing.close()


def test_only_whole_lines_are_appended(tmp_path):
    landing = RotatingLanding(tmp_path, RotationPolicy(1 << 20, 60))
    with pytest.raises(ValueError):
        landing.append(b"no newline")
    landing.close()


def test_restart_closes_leftover_files_cutting_a_partial_last_line(tmp_path):
    (tmp_path / "collect-a.jsonl.open").write_bytes(b'{"a":1}\n{"b":2}\n{"c":')
    (tmp_path / "collect-b.jsonl.open").write_bytes(b'{"torn')
    landing = RotatingLanding(tmp_path, RotationPolicy(1 << 20, 60))
    assert [(r.path.name, r.cut_bytes) for r in landing.recovered] == [("collect-a.jsonl", 5), ("collect-b.jsonl.open", 6)]
    assert files(tmp_path, ".jsonl.open") == []
    assert (tmp_path / "collect-a.jsonl").read_bytes() == b'{"a":1}\n{"b":2}\n'
    landing.close()


def test_one_collector_per_folder(tmp_path):
    first = RotatingLanding(tmp_path, RotationPolicy(1 << 20, 60))
    with pytest.raises(UsageError):
        RotatingLanding(tmp_path, RotationPolicy(1 << 20, 60))
    first.close()
    RotatingLanding(tmp_path, RotationPolicy(1 << 20, 60)).close()


def test_a_failed_write_leaves_no_half_body(tmp_path, monkeypatch):
    landing = RotatingLanding(tmp_path, RotationPolicy(1 << 20, 60))
    landing.append(b"kept\n")
    real_write = os.write

    def write_half_then_fail(fd, data):
        if len(data) > 4:
            return real_write(fd, bytes(data[:4]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rotation.os, "write", write_half_then_fail)
    with pytest.raises(OSError):
        landing.append(b"lost line\n")
    monkeypatch.undo()
    landing.append(b"next\n")
    landing.close()
    assert contents(tmp_path) == b"kept\nnext\n"
