"""Landing files rewritten without some lines: numbering as ingest numbers lines, gzip kept, the
original whole until the rename, and nothing done when the file changed since it was read."""

import gzip
import hashlib

from echo_spark.ingest.rewrite import line_subject, prepare_rewrite, rewrite_without_lines
from echo_spark.telemetry.landing import iter_lines


def test_removed_lines_are_the_ones_ingest_numbered_and_gzip_stays_gzip(tmp_path):
    text = b"one\r\ntwo\n\nfour\nfive-no-newline"
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(text))
    numbered = {line.number: line.data for line in iter_lines(path.read_bytes())}
    rewrite = rewrite_without_lines(str(path), [2, 5])
    assert rewrite is not None and rewrite.removed == 2
    assert gzip.decompress(path.read_bytes()) == text  # untouched until commit
    rewrite.commit()
    stored = path.read_bytes()
    assert stored[:2] == b"\x1f\x8b" and gzip.decompress(stored) == b"one\r\n\nfour\n"
    assert [line.data for line in iter_lines(stored)] == [numbered[1], numbered[3], numbered[4]]
    assert (rewrite.size, rewrite.sha256) == (len(stored), hashlib.sha256(stored).hexdigest())
    assert rewrite.mtime_us == path.stat().st_mtime_ns // 1000  # the rename keeps the recorded signature
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl.gz"]


def test_an_abandoned_rewrite_leaves_the_original_and_a_later_one_cleans_up(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_bytes(b"a\nb\nc\n")
    crashed = rewrite_without_lines(str(path), [1])
    assert crashed is not None  # a crash here: the hidden temporary file stays, the original is whole
    assert path.read_bytes() == b"a\nb\nc\n"
    later = rewrite_without_lines(str(path), [2])
    assert later is not None
    later.commit()
    assert path.read_bytes() == b"a\nc\n"
    assert [p.name for p in tmp_path.iterdir()] == ["b.jsonl"]


def test_nothing_is_rewritten_when_no_line_goes_or_the_file_changed_since_it_was_read(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"a\nb\n")
    assert prepare_rewrite(str(path), lambda n, line: False) is None
    assert rewrite_without_lines(str(path), [1], expected_sha256=hashlib.sha256(b"other").hexdigest()) is None
    assert rewrite_without_lines(str(tmp_path / "missing.jsonl"), [1]) is None
    assert [p.name for p in tmp_path.iterdir()] == ["c.jsonl"]


def test_line_subject_reads_json_and_falls_back_on_cut_lines():
    assert line_subject(b'{"user_id": "u", "session_id": "s", "type": "x"}') == ("u", "s")
    assert line_subject(b'{"session_id": 42}') == (None, None)
    assert line_subject(b'{"event_id": "e", "session_id": "s\\"q", "user_id": "u') == (None, 's"q')
    assert line_subject(b"\xff\xfe not json") == (None, None)
