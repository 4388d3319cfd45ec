"""A check on data no one here wrote: real Copilot suggestions that real developers accepted.

The CUPS study's telemetry (`../shared/data/real/cups-copilot-telemetry.jsonl.gz`, converted to
telemetry v1) holds, for each suggestion, the prompt Copilot sent (a prefix, no suffix), the text it
showed and whether the developer accepted it. Each arm proposes for the same prefixes; what it
proposes is compared with the accepted suggestion: equal (trailing whitespace aside), or a right
start of it (what a developer would take partially). There is no target: Copilot is a far larger
model, and an accepted suggestion is one acceptable answer, not the only one.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AcceptedSuggestion:
    request_id: str
    language: str
    prefix: str
    accepted: str  # the text shown and accepted


def default_path() -> Path:
    """../shared/data/real/cups-copilot-telemetry.jsonl.gz next to the repository."""
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "cups-copilot-telemetry.jsonl.gz"


def accepted_suggestions(events: Iterable[dict]) -> list[AcceptedSuggestion]:
    """Requests with a prefix whose shown text was accepted, in request order. A request with no
    request event (its prompt was not recoverable) or shown twice with different texts is skipped."""
    prefixes: dict[str, tuple[str, str]] = {}
    shown: dict[str, set[str]] = {}
    accepted: list[str] = []
    for event in events:
        kind, request_id = event.get("type"), event.get("request_id")
        if not request_id:
            continue
        if kind == "completion_request" and isinstance(event.get("prefix"), str):
            prefixes[request_id] = (event["prefix"], event.get("language") or "")
        elif kind == "completion_shown" and isinstance(event.get("text"), str):
            shown.setdefault(request_id, set()).add(event["text"])
        elif kind == "completion_accept":
            accepted.append(request_id)
    out = []
    for request_id in dict.fromkeys(accepted):
        texts = shown.get(request_id, set())
        if request_id in prefixes and len(texts) == 1:
            text = next(iter(texts))
            if text.strip():
                prefix, language = prefixes[request_id]
                out.append(AcceptedSuggestion(request_id, language, prefix, text))
    return out


def read(path: Path) -> list[AcceptedSuggestion]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return accepted_suggestions(json.loads(line) for line in fh if line.strip())


def agreement(suggestions: Sequence[AcceptedSuggestion], proposals: Sequence[str]) -> dict[str, float | int]:
    """Shares of the accepted suggestions an arm's proposals equal, or start rightly (equal included)."""
    exact = right_start = silent = 0
    for suggestion, proposal in zip(suggestions, proposals, strict=True):
        shown, meant = proposal.rstrip(), suggestion.accepted.rstrip()
        if not shown.strip():
            silent += 1
            continue
        exact += shown == meant
        right_start += meant.startswith(shown)
    n = len(suggestions)
    return {
        "suggestions": n,
        "exact": exact / n if n else 0.0,
        "right_start": right_start / n if n else 0.0,
        "silent": silent / n if n else 0.0,
    }
