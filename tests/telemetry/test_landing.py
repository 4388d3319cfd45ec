import gzip

import pytest

from echo_spark.telemetry.landing import UnreadableFile, iter_lines


def lines(data):
    return [(l.number, l.data, l.complete) for l in iter_lines(data)]


def test_plain_lines_are_numbered_from_one_and_crlf_is_stripped():
    assert lines(b"a\r\nb\n") == [(1, b"a", True), (2, b"b", True)]


def test_a_last_line_without_newline_is_marked_incomplete():
    assert lines(b"a\nb") == [(1, b"a", True), (2, b"b", False)]


def test_gzip_is_recognised_by_content_and_members_concatenate():
    data = gzip.compress(b"a\nb\n") + gzip.compress(b"c\n")
    assert lines(data) == [(1, b"a", True), (2, b"b", True), (3, b"c", True)]


def test_a_cut_gzip_keeps_every_line_before_the_cut():
    whole = gzip.compress(b"".join(b'{"n": %d}\n' % i for i in range(2000)))
    got = lines(whole[: len(whole) * 2 // 3])
    assert got and all(complete for _, _, complete in got[:-1])
    assert got[0] == (1, b'{"n": 0}', True)


def test_a_corrupt_gzip_header_is_unreadable():
    with pytest.raises(UnreadableFile):
        list(iter_lines(b"\x1f\x8b" + b"\x00" * 40))


def test_empty_file_has_no_lines():
    assert lines(b"") == []
