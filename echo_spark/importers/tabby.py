"""Tabby's event log (`~/.tabby/events/YYYY-MM-DD.json`) -> telemetry v1.

What the source says (TabbyML/tabby):
- `crates/tabby-common/src/api/event.rs`: each line is a `LogEntry { user: Option<String>, ts: u128
  (epoch ms), event: Event }`. `Event` is a serde enum with `rename_all = "snake_case"` and no tag
  attribute, so it is externally tagged: `{"completion": {...}}`, `{"view": {...}}`, ...
  - `Completion { completion_id, language, prompt, segments: Option<Segments>, choices:
    Vec<Choice { index, text }>, user_agent }`; `Segments { prefix, suffix?, clipboard?, git_url?,
    declarations?, filepath? }` (optional ones skipped when None).
  - `View { completion_id, choice_index, view_id? }`, `Select { completion_id, choice_index,
    kind?: SelectKind, view_id?, elapsed? }` with `SelectKind::Line` serialized as "line" (a
    partial, line-by-line accept), `Dismiss { completion_id, choice_index, view_id?, elapsed? }`.
  - `ChatCompletion { completion_id, input, output }`: chat, not code completion: skipped.
- `crates/tabby/src/services/event.rs` (`EventWriter::write_line`): lines are appended, one JSON
  object per line, to `events_dir/<UTC %Y-%m-%d>.json`, the file switching at UTC midnight.
- `crates/tabby/src/routes/events.rs`: `POST /v1/events` turns a client's `view`/`select` into the
  events above; `select_kind=line` in the query makes the select a line select.

Mapping: `completion` -> `completion_request` (prefix/suffix from segments, offset = UTF-16 length of
the prefix: no position is logged); `view` -> `completion_shown` with the viewed choice's text;
`select` -> `completion_accept`, and for a line select `accepted_length` = the UTF-16 length of the
first k lines of the choice, k counting this completion's line selects so far; `dismiss` ->
`completion_reject` (`dismissed`). The request id is `completion_id` (clients ask for one choice;
`tabby_extra.choice_index` says which one an event is about). The document is `filepath` within `git_url`
(or the completion alone when the client sent no path). Completions are indexed across all files
of a run, so a view just after UTC midnight still finds its completion in the previous day's file;
an event whose completion is in none of them is skipped as `orphan_reference`.
Fields not mapped are kept in a `tabby_extra` object on the event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..config import ImportConfig
from ..telemetry.positions import utf16_len
from .common import (
    MISSING_FIELD,
    UNKNOWN_EVENT_KIND,
    WRONG_TYPE,
    Conversion,
    Converted,
    LineError,
    SourceLine,
    Verdict,
    read_json_lines,
    require,
)

FORMAT = "tabby"
CLIENT_NAME = "tabby"
FILE_PATTERNS = ("????-??-??.json", "????-??-??.json.gz")
REFERRING_KINDS = ("view", "select", "dismiss")
SKIPPED_KINDS = {"chat_completion": "chat_completion"}
ORPHAN = "orphan_reference"
ANONYMOUS = "anonymous"
AGENT_VERSION = re.compile(r"tabby-agent/([^\s()]+)")  # the client version, when the user agent names it


@dataclass
class _Completion:
    doc_id: str
    language: str | None
    user: str
    choices: dict[int, str]
    source: tuple[Path, int]  # the line that defines it: a repeated completion_id is marked, not merged
    lines_selected: dict[int, int] = field(default_factory=dict)


def convert_files(paths: list[Path], config: ImportConfig) -> Iterator[tuple[Path, Conversion]]:
    """Two passes: index every completion of the run, then convert each file's lines in order."""
    del config  # Tabby logs every outcome it knows; no knob applies
    parsed = [(path, list(read_json_lines(path))) for path in paths]
    index: dict[str, _Completion] = {}
    for path, lines in parsed:
        for line, obj in lines:
            if isinstance(obj, dict) and isinstance(obj.get("event"), dict) and "completion" in obj["event"]:
                try:
                    completion_id, entry = _index_entry(obj, (path, line.number))
                except LineError:
                    continue  # quarantined in the second pass
                index.setdefault(completion_id, entry)
    for path, lines in parsed:
        result = Conversion(lines_read=len(lines))
        for line, obj in lines:
            if isinstance(obj, Verdict):
                result.quarantined.append(obj)
                continue
            try:
                kind, body = _variant(obj)
                if kind in SKIPPED_KINDS:
                    result.skipped.append(Verdict(line.number, SKIPPED_KINDS[kind]))
                elif kind == "completion":
                    completion_id, _entry = _index_entry(obj, (path, line.number))
                    result.converted.append(_request(line, obj, body, index[completion_id], path))
                elif (ref := index.get(require(body, "completion_id", str, f"event.{kind}."))) is None:
                    result.skipped.append(Verdict(line.number, ORPHAN, "completion_id"))
                else:
                    result.converted.append(_referring(line, obj, kind, body, ref))
            except LineError as err:
                result.quarantined.append(Verdict(line.number, err.reason, err.detail, line.data))
        yield path, result


def _variant(obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    require(obj, "ts", int)
    event = require(obj, "event", dict)
    if len(event) != 1:
        raise LineError(WRONG_TYPE, "event")
    (kind, body), = event.items()
    if kind not in ("completion", *REFERRING_KINDS, *SKIPPED_KINDS):
        raise LineError(UNKNOWN_EVENT_KIND, kind[:64])
    if not isinstance(body, dict):
        raise LineError(WRONG_TYPE, f"event.{kind}")
    return kind, body


def _user(obj: dict[str, Any], body: dict[str, Any]) -> str | None:
    """`LogEntry.user`, or the `user` that older releases put inside the completion event."""
    for value in (obj.get("user"), body.get("user")):
        if isinstance(value, str) and value:
            return value
    return None


def _index_entry(obj: dict[str, Any], source: tuple[Path, int]) -> tuple[str, _Completion]:
    body = obj["event"]["completion"]
    if not isinstance(body, dict):
        raise LineError(WRONG_TYPE, "event.completion")
    completion_id = require(body, "completion_id", str, "event.completion.")
    segments = body.get("segments") if isinstance(body.get("segments"), dict) else {}
    filepath, git_url = segments.get("filepath"), segments.get("git_url")
    if isinstance(filepath, str) and filepath:
        doc_id = f"{git_url}::{filepath}" if isinstance(git_url, str) and git_url else filepath
    else:
        doc_id = f"tabby-completion:{completion_id}"
    choices = {}
    for choice in require(body, "choices", list, "event.completion."):
        if isinstance(choice, dict) and isinstance(choice.get("index"), int) and isinstance(choice.get("text"), str):
            choices[choice["index"]] = choice["text"]
    language = body.get("language") if isinstance(body.get("language"), str) else None
    return completion_id, _Completion(doc_id, language, _user(obj, body) or ANONYMOUS, choices, source)


def _common(completion_id: str, ref: _Completion) -> dict[str, Any]:
    common: dict[str, Any] = {"doc_id": ref.doc_id, "request_id": completion_id}
    if ref.language:
        common["language"] = ref.language
    return common


def _request(line: SourceLine, obj: dict[str, Any], body: dict[str, Any], ref: _Completion, path: Path) -> Converted:
    completion_id = body["completion_id"]
    segments = body.get("segments")
    if not isinstance(segments, dict):
        raise LineError(MISSING_FIELD, "event.completion.segments")
    prefix = require(segments, "prefix", str, "segments.")
    suffix = segments.get("suffix")
    if suffix is not None and not isinstance(suffix, str):
        raise LineError(WRONG_TYPE, "segments.suffix")
    request: dict[str, Any] = {
        **_common(completion_id, ref),
        "event_id": line.event_id(FORMAT, "request"),
        "type": "completion_request",
        "ts": obj["ts"],
        "offset": utf16_len(prefix),
        "prefix": prefix,
    }
    if suffix is not None:
        request["suffix"] = suffix
    extra = {k: v for k, v in body.items() if k not in ("completion_id", "language", "segments", "user")}
    rest = {k: v for k, v in segments.items() if k not in ("prefix", "suffix", "filepath", "git_url")}
    if rest:
        extra["segments"] = rest
    if ref.source != (path, line.number):  # a repeated completion_id: the first one defines the request
        extra["duplicate_completion_id"] = True
    if extra:
        request["tabby_extra"] = extra
    agent = body.get("user_agent")
    version = AGENT_VERSION.search(agent) if isinstance(agent, str) else None
    return Converted(line, _user(obj, body) or ANONYMOUS, [request], version.group(1) if version else None)


def _referring(line: SourceLine, obj: dict[str, Any], kind: str, body: dict[str, Any], ref: _Completion) -> Converted:
    completion_id = body["completion_id"]
    choice_index = require(body, "choice_index", int, f"event.{kind}.")
    text = ref.choices.get(choice_index)
    if text is None:
        raise LineError(MISSING_FIELD, f"choices[{choice_index}]")
    event: dict[str, Any] = {**_common(completion_id, ref), "ts": obj["ts"]}
    if kind == "view":
        event.update(type="completion_shown", text=text)
    elif kind == "dismiss":
        event.update(type="completion_reject", reason="dismissed")
    else:
        event["type"] = "completion_accept"
        if body.get("kind") == "line":
            taken = ref.lines_selected.get(choice_index, 0) + 1
            ref.lines_selected[choice_index] = taken
            event["accepted_length"] = utf16_len("".join(text.splitlines(keepends=True)[:taken]))
    event["event_id"] = line.event_id(FORMAT, kind)
    extra = {k: v for k, v in body.items() if k not in ("completion_id",)}
    event["tabby_extra"] = extra  # choice_index always; view_id, elapsed, kind when logged
    return Converted(line, _user(obj, body) or ref.user, [event])
