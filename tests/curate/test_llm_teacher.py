"""LLM teacher against a local OpenAI-compatible server: answers, fallbacks, retries, timeouts, cache."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from echo_spark.config import CurateConfig
from echo_spark.curate.llm_teacher import PROMPT_VERSION, LLMTeacher
from echo_spark.curate.records import Gap
from echo_spark.curate.syntax_teacher import SyntaxTeacher

GAP = Gap("r1", "def add(a, b):\n    return a", "\n", " + b\n\n\nprint(add(1, 2))\n", "python")
SYNTAX_ANSWER = SyntaxTeacher().truncate(GAP)
FIRST_LINE = "{first_line}"


@dataclass
class Reply:
    status: int = 200
    content: str = ""
    delay_s: float = 0.0


@dataclass
class FakeEndpoint:
    """Replies in order (the last one repeats) and records every request body."""

    url: str
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self, body: dict) -> Reply:
        with self.lock:
            self.requests.append(body)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            return self.replies[min(len(self.requests), len(self.replies)) - 1]

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1


@pytest.fixture
def endpoint() -> Iterator[FakeEndpoint]:
    state: FakeEndpoint

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            reply = state.next_reply(body | {"_path": self.path, "_auth": self.headers.get("Authorization")})
            time.sleep(reply.delay_s)
            state.done()
            content = reply.content
            if content == FIRST_LINE:  # answer with the first line of the commit in the prompt
                prompt = body["messages"][1]["content"]
                content = "<keep>" + prompt.split("<committed>", 1)[1].split("\n", 1)[0] + "</keep>"
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = FakeEndpoint(url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _teacher(endpoint: FakeEndpoint, tmp_path: Path, **overrides: object) -> LLMTeacher:
    settings = {"teacher": "llm", "llm_base_url": endpoint.url, "llm_model": "teacher-7b",
                "llm_cache_dir": str(tmp_path / "cache"), "llm_backoff_s": 0, "llm_max_retries": 2}
    return LLMTeacher(CurateConfig(**(settings | overrides)))


def test_good_answer_is_used(endpoint: FakeEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_LLM_API_KEY", "test-token")
    endpoint.replies = [Reply(content="<keep> + b\n</keep>")]
    answer = _teacher(endpoint, tmp_path).answer(GAP)
    assert (answer.text, answer.source) == (" + b\n", "llm")
    request = endpoint.requests[0]
    assert request["_path"] == "/v1/chat/completions"
    assert request["_auth"] == "Bearer test-token"
    assert request["model"] == "teacher-7b" and request["temperature"] == 0
    assert "<committed> + b\n\n\nprint(add(1, 2))\n</committed>" in request["messages"][1]["content"]


@pytest.mark.parametrize("content", [
    "<keep>+ b</keep>",  # whitespace changed: not a prefix
    "<keep> + c</keep>",  # logic changed
    "<keep></keep>",  # a fill turned into silence
    " + b",  # no tags
])
def test_invalid_answer_falls_back_to_the_syntax_teacher(endpoint: FakeEndpoint, tmp_path: Path, content: str) -> None:
    endpoint.replies = [Reply(content=content)]
    answer = _teacher(endpoint, tmp_path).answer(GAP)
    assert (answer.text, answer.source) == (SYNTAX_ANSWER, "fallback_invalid")


def test_server_error_is_retried(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    endpoint.replies = [Reply(status=500), Reply(status=503), Reply(content="<keep> + b</keep>")]
    answer = _teacher(endpoint, tmp_path).answer(GAP)
    assert (answer.text, answer.source, len(endpoint.requests)) == (" + b", "llm", 3)


def test_retries_run_out_then_fallback_uncached(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    endpoint.replies = [Reply(status=500)]
    teacher = _teacher(endpoint, tmp_path, llm_max_retries=1)
    assert teacher.answer(GAP).source == "fallback_error"
    assert len(endpoint.requests) == 2
    endpoint.replies = [Reply(content="<keep> + b</keep>")]
    assert teacher.answer(GAP).source == "llm"  # a failure is not cached: the rerun asks again


def test_client_error_is_not_retried(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    endpoint.replies = [Reply(status=400)]
    assert _teacher(endpoint, tmp_path).answer(GAP).source == "fallback_error"
    assert len(endpoint.requests) == 1


def test_timeout_falls_back(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    endpoint.replies = [Reply(content="<keep> + b</keep>", delay_s=2.0)]
    answer = _teacher(endpoint, tmp_path, llm_timeout_s=0.2, llm_max_retries=1).answer(GAP)
    assert (answer.text, answer.source) == (SYNTAX_ANSWER, "fallback_error")
    assert len(endpoint.requests) == 2


def test_cache_hit_sends_no_second_request(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    endpoint.replies = [Reply(content="<keep> + b</keep>")]
    assert _teacher(endpoint, tmp_path).answer(GAP).source == "llm"
    again = _teacher(endpoint, tmp_path).answer(GAP)  # a new process would see the same files
    assert (again.text, again.source, len(endpoint.requests)) == (" + b", "llm_cache", 1)
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1
    other = Gap("r2", GAP.prefix, GAP.suffix, " + b + 0\n", "python")
    _teacher(endpoint, tmp_path).answer(other)
    assert len(endpoint.requests) == 2


def test_truncate_all_keeps_order_within_the_concurrency_limit(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    endpoint.replies = [Reply(content=FIRST_LINE, delay_s=0.1)]
    gaps = [Gap(f"r{i}", f"v{i} = ", "\n", f"x{i}\ny = 2\n", "python") for i in range(6)]
    answers = _teacher(endpoint, tmp_path, llm_concurrency=2).truncate_all(gaps)
    assert [a.text for a in answers] == [f"x{i}" for i in range(6)]
    assert len(endpoint.requests) == 6
    assert endpoint.most_in_flight <= 2


def test_void_needs_no_request(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    assert _teacher(endpoint, tmp_path).truncate(Gap("r", "x = 1\n", "", "", "python")) == ""
    assert endpoint.requests == []


def test_endpoint_and_model_are_required() -> None:
    with pytest.raises(ValueError, match="llm_base_url"):
        LLMTeacher(CurateConfig(teacher="llm"))


def test_prompt_version_is_part_of_the_cache_key(endpoint: FakeEndpoint, tmp_path: Path) -> None:
    endpoint.replies = [Reply(content="<keep> + b</keep>")]
    teacher = _teacher(endpoint, tmp_path)
    assert teacher._payload(GAP)["prompt_version"] == PROMPT_VERSION
    teacher.answer(GAP)
    assert "prompt_version" not in endpoint.requests[0]  # the endpoint sees a plain chat completion
