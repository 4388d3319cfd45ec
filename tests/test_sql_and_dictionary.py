import json

import pandas as pd

from echo_spark.cli import main
from echo_spark.data_dictionary import render

from .conftest import REPO
from .telemetry.badlines import VALID


def test_data_dictionary_is_in_sync_with_the_table_definitions():
    assert (REPO / "docs" / "data_dictionary.md").read_text() == render()


def test_sql_over_local_tables(tmp_path, capsys, landing):
    landing.write("a.jsonl", b"".join(json.dumps(e).encode() + b"\n" for e in VALID) + b"oops\n")
    lh = str(tmp_path / "lh")
    assert main(["ingest", "--landing", str(landing.root), "--lakehouse", lh, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["sql", "SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type", "--lakehouse", lh, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "completion_request" in out and "session_start" in out
    csv = tmp_path / "q.csv"
    assert main(["sql", "SELECT reason FROM quarantine", "--lakehouse", lh, "--quiet", "--output", str(csv)]) == 0
    assert pd.read_csv(csv)["reason"].tolist() == ["invalid_json"]


def test_sql_without_tables_is_a_usage_error(tmp_path, capsys):
    assert main(["sql", "SELECT 1", "--lakehouse", str(tmp_path / "empty"), "--quiet"]) == 2
