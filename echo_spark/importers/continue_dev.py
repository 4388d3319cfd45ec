"""Continue's development data (`~/.continue/dev_data/<version>/autocomplete.jsonl`) -> telemetry v1.

What the source says (continuedev/continue):
- `core/data/log.ts`: `logLocalData` appends `JSON.stringify(parsed.data)` + "\\n" to
  `dev_data/<LOCAL_DEV_DATA_VERSION>/<event>.jsonl`, validated by the version's schema at level
  "all"; `addBaseValues` fills `eventName`, `schema`, `timestamp` (ISO, when absent), `userAgent`
  ("IDE/version (Continue/extensionVersion)"), `selectedProfileId` and `userId` (the IDE's user
  token, often ""). File destinations (`file://` in config `data:`) get the raw event instead.
- `packages/config-yaml/src/schemas/data/autocomplete/index.ts`: the fields `accepted?` (bool),
  `time` (ms), `prefix`, `suffix`, `prompt`, `completion`, `modelProvider`, `modelName`, `cacheHit`,
  `filepath`, `gitRepo?`, `completionId`, `uniqueId`, `timestamp` (string), plus the autocomplete
  options (debounceDelay, maxPromptTokens, ...). `.../autocomplete/v0.1.0.ts` has no base fields (no
  userId); `v0.2.0.ts` adds them. Both define a `_noCode` variant that omits prefix, suffix, prompt
  and completion: nothing to learn from, so those lines are skipped as `no_code`.
- `core/autocomplete/util/AutocompleteLoggingService.ts`: an outcome is logged once, on accept
  (`accepted: true`) or when `COUNT_COMPLETION_REJECTED_AFTER` (10 s, `core/util/parameters.ts`)
  passes (`accepted: false`); a new suggestion that continues the previous one cancels that
  rejection, so no line is written for it. The outcome is built when the completion is ready
  (`timestamp: new Date().toISOString()`, older releases `Date.now()`) after `time` ms of work.
- `core/autocomplete/templating/index.ts`: the logged `prefix` is the compiled prefix: formatted
  snippets of other files, "\\n", then the pruned document prefix; an empty suffix is logged as "\\n".

So one line becomes `completion_request` (ts = timestamp - time), `completion_shown` (ts =
timestamp) and `completion_accept` (same ts: the accept instant is not logged) or
`completion_reject` (reason `timeout`, ts + `importers.continue_reject_after_s`). The offset is the
UTF-16 length of the logged prefix (no position is logged; with snippets in the prefix it overstates
the document offset, but the anchors the lifecycle uses are the prefix's tail and the suffix's head,
which are the document's). The document is `filepath` within `gitRepo`; the user is `userId`, or
`uniqueId` (the machine) when the token is empty. Fields not mapped are kept, unchanged, in the
request's `continue_extra` object.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from ..config import ImportConfig
from ..telemetry.positions import utf16_len
from .common import (
    Conversion,
    Converted,
    LineError,
    SourceLine,
    Verdict,
    WRONG_TYPE,
    epoch_ms,
    read_json_lines,
    require,
)

FORMAT = "continue"
CLIENT_NAME = "continue"
FILE_PATTERNS = ("autocomplete.jsonl", "autocomplete.jsonl.gz")
NO_CODE = "no_code"
CODE_FIELDS = ("prefix", "suffix", "prompt", "completion")
# Fields that always become telemetry fields; others do when their value could be used.
MAPPED = frozenset({"completionId", "filepath", "prefix", "suffix", "completion", "timestamp", "accepted"})
USER_AGENT_VERSION = re.compile(r"\(Continue/([^)\s]+)\)")

# File extension -> LSP language id, for the common cases (Continue does not log the language).
LANGUAGES = {
    "py": "python", "ts": "typescript", "tsx": "typescriptreact", "js": "javascript",
    "jsx": "javascriptreact", "java": "java", "go": "go", "rs": "rust", "c": "c", "h": "c",
    "cpp": "cpp", "cc": "cpp", "hpp": "cpp", "cs": "csharp", "rb": "ruby", "php": "php",
    "kt": "kotlin", "swift": "swift", "scala": "scala", "sh": "shellscript", "sql": "sql",
    "lua": "lua", "r": "r", "md": "markdown", "json": "json", "yaml": "yaml", "yml": "yaml",
    "html": "html", "css": "css", "vue": "vue", "dart": "dart",
}


def convert_files(paths: list[Path], config: ImportConfig) -> Iterator[tuple[Path, Conversion]]:
    for path in paths:
        yield path, convert_file(path, config)


def convert_file(path: Path, config: ImportConfig) -> Conversion:
    result = Conversion()
    for line, obj in read_json_lines(path):
        result.lines_read += 1
        if isinstance(obj, Verdict):
            result.quarantined.append(obj)
        elif not any(name in obj for name in CODE_FIELDS):
            result.skipped.append(Verdict(line.number, NO_CODE))
        else:
            try:
                result.converted.append(convert_line(line, obj, config))
            except LineError as err:
                result.quarantined.append(Verdict(line.number, err.reason, err.detail, line.data))
    return result


def convert_line(line: SourceLine, obj: dict[str, Any], config: ImportConfig) -> Converted:
    completion_id = require(obj, "completionId", str)
    filepath = require(obj, "filepath", str)
    prefix = require(obj, "prefix", str)
    completion = require(obj, "completion", str)
    suffix = obj.get("suffix")
    if suffix is not None and not isinstance(suffix, str):
        raise LineError(WRONG_TYPE, "suffix")
    shown_ts = epoch_ms(require(obj, "timestamp", (str, int, float)))
    if shown_ts is None:
        raise LineError(WRONG_TYPE, "timestamp")
    latency = obj.get("time")
    # `time` is the ms the completion took; NaN, negative or over an hour is not one.
    has_latency = isinstance(latency, (int, float)) and not isinstance(latency, bool) and 0 <= latency < 3_600_000
    request_ts = shown_ts - int(latency) if has_latency else shown_ts
    accepted = obj.get("accepted")
    if accepted is not None and not isinstance(accepted, bool):
        raise LineError(WRONG_TYPE, "accepted")

    git_repo = _text(obj.get("gitRepo"))
    common = {"doc_id": f"{git_repo}::{filepath}" if git_repo else filepath, "request_id": completion_id}
    language = LANGUAGES.get(filepath.rsplit(".", 1)[-1].lower()) if "." in filepath else None
    if language:
        common["language"] = language
    request: dict[str, Any] = {
        **common,
        "event_id": line.event_id(FORMAT, "request"),
        "type": "completion_request",
        "ts": request_ts,
        "offset": utf16_len(prefix),
        "prefix": prefix,
    }
    if suffix is not None:
        request["suffix"] = suffix
    user_id = _text(obj.get("userId"))
    used = MAPPED | {name for name, kept in (("time", has_latency), ("gitRepo", git_repo), ("userId", user_id),
                                             ("modelName", _text(obj.get("modelName")))) if kept}
    extra = {k: v for k, v in obj.items() if k not in used}
    if extra:
        request["continue_extra"] = extra
    shown: dict[str, Any] = {
        **common,
        "event_id": line.event_id(FORMAT, "shown"),
        "type": "completion_shown",
        "ts": shown_ts,
        "text": completion,
    }
    if _text(obj.get("modelName")):
        shown["model"] = obj["modelName"]
    events = [request, shown]
    if accepted is True:
        events.append({**common, "event_id": line.event_id(FORMAT, "accept"), "type": "completion_accept", "ts": shown_ts})
    elif accepted is False:
        reject_ts = shown_ts + round(config.continue_reject_after_s * 1000)
        events.append({**common, "event_id": line.event_id(FORMAT, "reject"), "type": "completion_reject",
                       "ts": reject_ts, "reason": "timeout"})
    user = user_id or _text(obj.get("uniqueId")) or "anonymous"
    agent = obj.get("userAgent")
    version = USER_AGENT_VERSION.search(agent) if isinstance(agent, str) else None
    return Converted(line, user, events, version.group(1) if version else None)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
