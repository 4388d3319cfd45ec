"""A teacher that asks an LLM behind any OpenAI-compatible `/v1/chat/completions` endpoint.

Syntax rules miss what only reading the code tells (a helper written first, then the call that was
being typed); an LLM can judge scope from meaning. It is never trusted with the text itself: its
answer must be an exact prefix of C_N (see `teacher.is_valid_answer`), otherwise the syntax
teacher's answer is used. Each distinct request is sent once: responses are cached on disk under
the SHA-256 of the request, so rerunning the curate job costs no request. Failures (timeouts,
connection errors, 429, 5xx) are retried with exponential backoff, then fall back; they are not
cached, so a rerun tries again.

The prompt (`SYSTEM_PROMPT`, `USER_PROMPT`) shows the code before the cursor, the code after the
gap and the commit C_N, states the unit rules of the syntax teacher, and asks for the kept prefix
between <keep> and </keep>, character for character. `PROMPT_VERSION` is part of the cache key:
bump it with any change of the prompt.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..config import CurateConfig
from .records import Gap
from .syntax_teacher import SyntaxTeacher
from .teacher import Teacher, is_valid_answer

PROMPT_VERSION = "1"
SYSTEM_PROMPT = (
    "You prepare training data for a code-completion model. A user's cursor was in a file; later the "
    "user committed some text at the cursor. That text may run on into later, unrelated edits. Keep only "
    "the beginning of it that completes what was being written at the cursor: the rest of the line or "
    "statement when the cursor was mid-line, the whole block when the cursor was right after a block "
    "opener, one statement when it was on a fresh line. Change scope only, never logic: answer with an "
    "exact prefix of the committed text, character for character (whitespace included), between <keep> "
    "and </keep>, and nothing else."
)
USER_PROMPT = (
    "Language: {language}\n"
    "Code before the cursor:\n<before>{before}</before>\n"
    "Code after the gap:\n<after>{after}</after>\n"
    "Text the user committed at the cursor:\n<committed>{committed}</committed>"
)
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})

Source = Literal["llm", "llm_cache", "fallback_invalid", "fallback_error"]


@dataclass(frozen=True)
class TeacherAnswer:
    """A truncation and where it came from (counted by the job: how often the LLM was overruled)."""

    text: str
    source: Source


class LLMTeacher:
    """Truncation by an LLM, checked strictly, cached, with the syntax teacher as fallback."""

    def __init__(self, config: CurateConfig, fallback: Teacher | None = None) -> None:
        if not config.llm_base_url or not config.llm_model:
            raise ValueError("the llm teacher needs curate.llm_base_url and curate.llm_model")
        self.config = config
        self.fallback = fallback or SyntaxTeacher()
        self.url = config.llm_base_url.rstrip("/") + "/chat/completions"
        self.cache_dir = Path(config.llm_cache_dir)
        self._api_key = os.environ.get(config.llm_api_key_env, "")
        self._in_flight = threading.BoundedSemaphore(config.llm_concurrency)

    def truncate(self, gap: Gap) -> str:
        return self.answer(gap).text

    def truncate_all(self, gaps: list[Gap]) -> list[TeacherAnswer]:
        """Answers in input order, at most `llm_concurrency` requests in flight."""
        with ThreadPoolExecutor(max_workers=self.config.llm_concurrency) as pool:
            return list(pool.map(self.answer, gaps))

    def answer(self, gap: Gap) -> TeacherAnswer:
        if gap.is_void:
            return TeacherAnswer("", "llm")
        payload = self._payload(gap)
        key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()
        content, source = self._cached(key), "llm_cache"
        if content is None:
            content, source = self._request(payload), "llm"
            if content is None:
                return TeacherAnswer(self.fallback.truncate(gap), "fallback_error")
            self._store(key, content)
        kept = _kept_text(content)
        if kept is None or not is_valid_answer(kept, gap.committed):
            return TeacherAnswer(self.fallback.truncate(gap), "fallback_invalid")
        return TeacherAnswer(kept, source)

    def _payload(self, gap: Gap) -> dict[str, Any]:
        chars = self.config.llm_context_chars
        user = USER_PROMPT.format(
            language=gap.language or "unknown",
            before=gap.prefix[-chars:] if chars else "",
            after=gap.suffix_text[:chars],
            committed=gap.committed,
        )
        return {
            "model": self.config.llm_model,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
            "temperature": 0,
            "max_tokens": self.config.llm_max_tokens,
            "prompt_version": PROMPT_VERSION,
        }

    def _request(self, payload: dict[str, Any]) -> str | None:
        """The answer's content, or None once retries are spent or the error is not worth retrying."""
        body = {k: v for k, v in payload.items() if k != "prompt_version"}
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        for attempt in range(self.config.llm_max_retries + 1):
            if attempt:
                time.sleep(self.config.llm_backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, json.dumps(body).encode("utf-8"), headers, method="POST")
            try:
                with self._in_flight, urllib.request.urlopen(request, timeout=self.config.llm_timeout_s) as response:
                    data = json.loads(response.read())
                return str(data["choices"][0]["message"]["content"])
            except urllib.error.HTTPError as err:
                if err.code not in _RETRYABLE_STATUS:
                    return None
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                continue
            except (ValueError, KeyError, IndexError, TypeError):
                return None  # not a chat completion: asking again will not help
        return None

    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.json"

    def _cached(self, key: str) -> str | None:
        try:
            return json.loads(self._cache_path(key).read_text(encoding="utf-8"))["content"]
        except (OSError, ValueError, KeyError):
            return None

    def _store(self, key: str, content: str) -> None:
        path = self._cache_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_text(json.dumps({"content": content}), encoding="utf-8")
        os.replace(partial, path)  # atomic: concurrent writers of one key never leave half a file


def _kept_text(content: str) -> str | None:
    start, end = content.find("<keep>"), content.rfind("</keep>")
    if start < 0 or end < start:
        return None
    return content[start + len("<keep>") : end]
