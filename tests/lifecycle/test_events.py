"""Bronze rows in the shapes Spark and pandas produce, ordered and deduplicated."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd

from echo_spark.lifecycle.events import TextChange, event_from_row, ordered_events, to_epoch_us


def test_timestamps_in_every_accepted_shape_agree() -> None:
    expected = 1_700_000_000_123_456
    aware = datetime.fromtimestamp(expected / 1e6, tz=timezone.utc).replace(microsecond=123456)
    assert to_epoch_us(aware) == expected
    assert to_epoch_us(pd.Timestamp(aware)) == expected
    assert to_epoch_us(np.int64(expected)) == expected
    assert to_epoch_us("2023-11-14T22:13:20.123456Z") == expected


def test_pandas_row_with_nan_and_numpy_changes() -> None:
    row = pd.Series(
        {
            "event_id": "e1",
            "type": "doc_change",
            "ts": pd.Timestamp("2024-01-01T00:00:00Z"),
            "seq": float("nan"),
            "offset": np.nan,
            "changes": np.array([{"offset": np.int64(3), "length": np.int64(0), "text": "x"}], dtype=object),
            "suffix": None,
        }
    )
    event = event_from_row(row)
    assert event.seq is None and event.offset is None and event.suffix is None
    assert event.changes == (TextChange(3, 0, "x"),)
    assert event.request_id is None  # a column absent from the row reads as missing


def _row(event_id: str, ts: int, seq: int | None, type_: str = "cursor") -> dict:
    return {"event_id": event_id, "type": type_, "ts": ts, "seq": seq}


def test_seq_orders_despite_clock_skew_and_duplicates_are_dropped() -> None:
    rows = [_row("b", 100, 2), _row("a", 500, 1), _row("b", 100, 2), _row("c", 50, 3)]
    assert [e.event_id for e in ordered_events(rows)] == ["a", "b", "c"]


def test_without_seq_time_orders_and_ties_follow_the_causal_type_rank() -> None:
    rows = [
        _row("change", 10, None, "doc_change"),
        _row("accept", 10, None, "completion_accept"),
        _row("request", 10, None, "completion_request"),
        _row("late", 20, 1),
    ]
    assert [e.event_id for e in ordered_events(rows)] == ["request", "accept", "change", "late"]
