"""`echo-spark import --from FORMAT SRC --out LANDING`: the logs people already have, as telemetry v1.

The output is an ordinary landing folder for `echo-spark ingest`: one `<format>-<source>.jsonl.gz`
per source file (same input, same bytes, same event ids: re-importing adds nothing downstream) and
`_quarantine/<format>-<source>.jsonl` for the lines that could not be read, each with its reason.
The summary adds up: lines read = converted + skipped (by reason) + quarantined (by reason).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import EchoConfig
from ..errors import UsageError
from ..progress import print_summary
from ..telemetry.landing import UnreadableFile, iter_lines
from ..telemetry.parse import UNREADABLE_FILE, ParseLimits, Quarantined, parse_line
from . import continue_dev, tabby
from .common import (
    Conversion,
    Converted,
    Tally,
    Verdict,
    dumps,
    find_sources,
    invalid_event,
    output_stem,
    sessionize,
    summary,
    write_gzip_lines,
    write_quarantine,
)

IMPORTERS = {"continue": continue_dev, "tabby": tabby}
FORMATS = ("jsonl", *IMPORTERS)
JSONL_PATTERNS = ("*.jsonl", "*.jsonl.gz")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source_format",
        choices=FORMATS,
        default="jsonl",
        help="jsonl: telemetry v1 (validated, copied through); continue: ~/.continue/dev_data "
        "(autocomplete.jsonl); tabby: ~/.tabby/events (YYYY-MM-DD.json)",
    )
    parser.add_argument("src", metavar="SRC", help="a log file, or a folder searched for the format's files")
    parser.add_argument("--out", required=True, metavar="LANDING", help="landing folder to write to (created)")


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    metrics = import_logs(args.source_format, Path(args.src).expanduser(), Path(args.out).expanduser(), config)
    print_summary(summary(metrics))
    return metrics


def import_logs(fmt: str, src: Path, out: Path, config: EchoConfig, now: datetime | None = None) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise UsageError(f"--from {fmt}: expected one of {', '.join(FORMATS)}")
    if src.is_dir() and out.resolve().is_relative_to(src.resolve()):
        raise UsageError(f"--out {out} is inside SRC {src}: a later import would read its own output")
    ingest = config.ingest
    limits = ParseLimits.for_run(
        ingest.max_json_depth, ingest.min_ts, ingest.max_future_skew_hours, now or datetime.now(timezone.utc)
    )
    patterns = JSONL_PATTERNS if fmt == "jsonl" else IMPORTERS[fmt].FILE_PATTERNS
    paths = find_sources(src, patterns)
    out.mkdir(parents=True, exist_ok=True)
    tally = Tally(files=len(paths))
    if fmt == "jsonl":
        for path in paths:
            kept, verdicts, read = _validated_lines(path, limits)
            tally.lines_read += read
            tally.converted += len(kept)
            _write(out, output_stem(fmt, src, path), path, kept, verdicts, tally)
    else:
        importer = IMPORTERS[fmt]
        conversions = dict(importer.convert_files(paths, config.importers))
        valid = [item for conversion in conversions.values() for item in _validated(conversion, limits)]
        events, tally.sessions = sessionize(fmt, importer.CLIENT_NAME, valid, config.importers.session_gap_minutes * 60_000)
        by_source: dict[Path, list[bytes]] = {path: [] for path in paths}
        for source, event in events:
            by_source[source].append(dumps(event))
        for path, conversion in conversions.items():
            tally.lines_read += conversion.lines_read
            tally.converted += len(conversion.converted)
            tally.skipped.update(v.reason for v in conversion.skipped)
            _write(out, output_stem(fmt, src, path), path, by_source[path], conversion.quarantined, tally)
    if not tally.balanced():
        raise RuntimeError(f"import accounting does not add up: {tally.as_metrics(fmt)}")
    return tally.as_metrics(fmt)


def _validated_lines(path: Path, limits: ParseLimits) -> tuple[list[bytes], list[Verdict], int]:
    """jsonl: each line as it is when the ingest parser accepts it, else a verdict."""
    try:
        lines = list(iter_lines(path.read_bytes()))
    except UnreadableFile as err:
        return [], [Verdict(0, UNREADABLE_FILE, str(err)[:200])], 1
    kept, verdicts = [], []
    for line in lines:
        parsed = parse_line(line.data, line.complete, limits)
        if isinstance(parsed, Quarantined):
            verdicts.append(Verdict(line.number, parsed.reason, parsed.detail, line.data))
        else:
            kept.append(line.data)
    return kept, verdicts, len(lines)


def _validated(conversion: Conversion, limits: ParseLimits) -> list[Converted]:
    """The converted lines whose events the ingest parser accepts; the others move to quarantine."""
    valid = []
    for item in conversion.converted:
        verdict = invalid_event(item, limits)
        if verdict is None:
            valid.append(item)
        else:
            conversion.quarantined.append(Verdict(item.line.number, verdict.reason, verdict.detail, item.line.data))
    conversion.converted = valid
    return valid


def _write(out: Path, stem: str, source: Path, lines: list[bytes], verdicts: list[Verdict], tally: Tally) -> None:
    target = out / f"{stem}.jsonl.gz"
    if lines:
        write_gzip_lines(target, lines)
        tally.output_files.append(target.name)
    else:
        target.unlink(missing_ok=True)  # a re-import that now yields nothing leaves nothing stale
    tally.events_written += len(lines)
    tally.quarantined.update(v.reason for v in verdicts)
    write_quarantine(out, stem, source, sorted(verdicts, key=lambda v: v.line))
