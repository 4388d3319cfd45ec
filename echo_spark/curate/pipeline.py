"""The per-gap part of curation, in order: teacher, boundary, syntax, identifiers, secrets,
decontamination. Pure Python over plain row dicts, so the Spark job ships batches of silver rows
in and staged rows (a kept sample, or a drop with its stage and reason) out.

The global stages (dedup, perplexity, proportioning, split) need many rows at once and live in
the job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cache, partial
from pathlib import Path
from typing import Any, Callable, Iterable

from ..config import BenchmarksConfig, CurateConfig, LifecycleConfig
from .llm_teacher import LLMTeacher
from .records import Gap, Verdict
from .syntax_teacher import SyntaxTeacher
from .teacher import Teacher
from .verifiers.boundary import check_boundary
from .verifiers.certainty import check_certainty
from .verifiers.decontam import ContaminationIndex, benchmark_index, benchmarks_folder, check_decontamination
from .text import gap_window
from .verifiers.dedup import dedup_key, sketch
from .verifiers.identifiers import check_identifiers
from .verifiers.syntax import check_syntax

# The stages in the order a gap meets them; global stages follow in the job. `holdout` (the
# evaluation holdout, echo_spark/holdout.py) is applied by the job before any of them.
ROW_STAGES = ("holdout", "input", "teacher", "certainty", "boundary", "syntax", "identifiers", "secrets", "decontam")
GLOBAL_STAGES = ("dedup", "perplexity", "proportion")


@dataclass
class RowCurator:
    """Built once per worker process: the teacher, the secret scanner and the contamination indexes."""

    config: CurateConfig
    teacher: Teacher
    indexes: tuple[ContaminationIndex, ...]
    # The shared unit definition: its answer, or why the gap holds no whole unit.
    units: SyntaxTeacher = field(default_factory=SyntaxTeacher)

    @classmethod
    def build(cls, config: CurateConfig, lifecycle: LifecycleConfig | None = None,
              benchmarks: BenchmarksConfig | None = None) -> "RowCurator":
        """`lifecycle`: the configured lifecycle, whose no-suffix bound the teacher reads to know
        where a suffix-less C_N was cut (its defaults when None); `benchmarks`: the configured FIM
        benchmarks decontamination drops overlaps with (the default folder when None)."""
        bound = lifecycle or LifecycleConfig()
        syntax = SyntaxTeacher(bound.no_suffix_max_gap_chars, bound.no_suffix_line_factor)
        teacher: Teacher = LLMTeacher(config, fallback=syntax) if config.teacher == "llm" else syntax
        index = benchmark_index(benchmarks or BenchmarksConfig(), config.decontam_ngram)
        return cls(config, teacher, (index,), syntax)

    def curate(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = list(rows)
        out: list[dict[str, Any]] = []
        pending: list[tuple[dict[str, Any], Gap]] = []
        for row in rows:
            if row.get("committed") is None:
                reason = "document_skipped" if row.get("skipped_reason") else "committed_unknown"
                out.append(_staged(row, None, Verdict.dropped("input", reason)))
            else:
                pending.append((row, _gap(row)))
        # Whole units or nothing, whichever teacher answers: a gap whose unit is not whole in C_N
        # (cut by the no-suffix bound, or left mid-unit) is dropped here with the reason.
        whole = []
        for row, gap in pending:
            answer = self.units.answer(gap)
            if answer.drop_reason:
                out.append(_staged(row, gap, Verdict.dropped("teacher", answer.drop_reason), "syntax"))
                continue
            certain = check_certainty(row, gap, answer.text, self.units, self.config)
            if not certain.keep:
                out.append(_staged(row, gap, certain, "syntax"))
            else:
                whole.append((row, gap, answer.text))
        middles = self._truncate([(gap, text) for _, gap, text in whole])
        for (row, gap, _), (middle, source) in zip(whole, middles):
            out.append(self._verify(row, replace(gap, committed=middle), source))
        return out

    def _truncate(self, gaps: list[tuple[Gap, str]]) -> list[tuple[str, str]]:
        if isinstance(self.teacher, LLMTeacher):
            return [(a.text, a.source) for a in self.teacher.truncate_all([gap for gap, _ in gaps])]
        return [(text, "syntax") for _, text in gaps]

    def _verify(self, row: dict[str, Any], gap: Gap, teacher_source: str) -> dict[str, Any]:
        c = self.config
        for verdict in (
            check_boundary(gap, min_chars=c.boundary_min_chars),
            check_syntax(gap),
            check_identifiers(gap, strictness=c.identifier_strictness, max_unknown_ratio=c.identifier_max_unknown_ratio),
        ):
            if not verdict.keep:
                return _staged(row, gap, verdict, teacher_source)
        secrets = _secrets_stage(c.secrets_min_score, c.secrets_min_entropy)(gap)
        if not secrets.verdict.keep:
            return _staged(row, gap, secrets.verdict, teacher_source)
        redacted = secrets.gap
        verdict = check_decontamination(redacted, self.indexes)
        staged = _staged(row, redacted, verdict, teacher_source)
        staged["redactions"] = sorted({f.entity for f in secrets.findings})
        if verdict.keep:
            sketched = sketch(gap_window(redacted, c.dedup_context_chars), num_perm=c.dedup_num_perm,
                              shingle_tokens=c.dedup_shingle_tokens, seed=c.seed)
            staged.update(dedup_exact=sketched.exact, dedup_shingles=list(sketched.shingles),
                          dedup_signature=list(sketched.signature))
        return staged


@cache
def _secrets_stage(min_score: float, min_entropy: float) -> Callable[[Gap], Any]:
    """The secrets stage for these settings, imported where gaps are verified: presidio and spaCy
    take seconds to import, which the curate job's driver, only planning the stages, does not pay."""
    from .verifiers.secrets import check_secrets, shared_scanner

    return partial(check_secrets, scanner=shared_scanner(min_score, min_entropy))


# Curate settings that only the global stages (dedup, perplexity, proportioning, split) or the
# bookkeeping read: changing them keeps every per-gap verdict. The dedup window, shingles and MinHash
# (and the seed of its permutations) are per-gap: each kept verdict stores its sketch. Every other
# `curate` setting, and any added later, is taken to change verdicts (recomputing is safe, reusing a
# stale one is not).
GLOBAL_SETTINGS = frozenset({
    "dedup_threshold",
    "length_bucket_edges", "target_length_shares", "target_language_shares", "target_void_share", "max_samples",
    "validation_share", "perplexity_model", "perplexity_enabled", "perplexity_low_quantile",
    "perplexity_high_quantile", "perplexity_batch_size", "perplexity_context_tokens", "mlflow_experiment",
    "llm_api_key_env", "llm_cache_dir",
})

# The code of the per-gap stages: an edit to any of these files changes the digest, so verdicts made
# by older code are recomputed rather than trusted.
_PER_GAP_CODE = (
    "curate/pipeline.py", "curate/records.py", "curate/text.py", "curate/teacher.py", "curate/syntax_teacher.py",
    "curate/llm_teacher.py", "curate/grammars.py", "curate/verifiers", "units.py",
)


def verdicts_digest(config: CurateConfig, lifecycle: LifecycleConfig | None = None,
                    benchmarks: BenchmarksConfig | None = None) -> str:
    """SHA-256 of everything a per-gap verdict depends on besides its silver row: the curate settings
    not in GLOBAL_SETTINGS, the lifecycle's no-suffix bound (the teacher's line-end rule), the bytes of
    the benchmark files decontamination reads, and the per-gap stages' source code."""
    bound = lifecycle or LifecycleConfig()
    bench = benchmarks or BenchmarksConfig()
    digest = hashlib.sha256()
    settings = {k: v for k, v in config.model_dump(mode="json").items() if k not in GLOBAL_SETTINGS}
    digest.update(json.dumps({
        "curate": settings,
        "lifecycle": {"no_suffix_max_gap_chars": bound.no_suffix_max_gap_chars,
                      "no_suffix_line_factor": bound.no_suffix_line_factor},
    }, sort_keys=True).encode("utf-8"))
    for path in sorted(benchmarks_folder(bench).glob(bench.glob)):
        digest.update(f"\x00benchmark {path.name}\x00".encode("utf-8") + path.read_bytes())
    package = Path(__file__).resolve().parents[1]
    for name in _PER_GAP_CODE:
        target = package / name
        for path in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            digest.update(f"\x00code {path.relative_to(package)}\x00".encode("utf-8") + path.read_bytes())
    return digest.hexdigest()


_curators: dict[str, RowCurator] = {}


def shared_curator(config: CurateConfig, lifecycle: LifecycleConfig | None = None,
                   benchmarks: BenchmarksConfig | None = None) -> RowCurator:
    """This process's curator for `config` (and `lifecycle`'s no-suffix bound, the `benchmarks`):
    building one loads the teacher, the secret scanner and the benchmark index, once per worker
    process rather than once per batch."""
    key = "\x1f".join(c.model_dump_json() for c in (config, lifecycle or LifecycleConfig(), benchmarks or BenchmarksConfig()))
    if key not in _curators:
        _curators[key] = RowCurator.build(config, lifecycle, benchmarks)
    return _curators[key]


def _gap(row: dict[str, Any]) -> Gap:
    return Gap(
        request_id=row["request_id"],
        prefix=row.get("prefix") or "",
        suffix=row.get("suffix"),
        committed=row["committed"],
        language=row.get("language"),
        user_id=row.get("user_id"),
        proposal=row.get("proposal"),
        finalize_reason=row.get("finalize_reason"),
    )


# Silver columns carried through to gold unchanged (provenance and context for later stages).
CARRIED = ("request_id", "session_id", "user_id", "doc_id", "language", "outcome", "request_event_id", "event_ids",
           "input_sha256")


def _staged(row: dict[str, Any], gap: Gap | None, verdict: Verdict, teacher_source: str | None = None) -> dict[str, Any]:
    staged = {name: row.get(name) for name in CARRIED}
    staged.update(
        committed_raw=row.get("committed"),
        teacher_source=teacher_source,
        kept=verdict.keep,
        drop_stage=None if verdict.keep else verdict.stage,
        drop_reason=None if verdict.keep else verdict.reason,
        redactions=[],
    )
    source = gap if gap is not None else None
    staged.update(
        prefix=source.prefix if source else row.get("prefix"),
        suffix=source.suffix if source else row.get("suffix"),
        middle=source.committed if source else None,
        proposal=source.proposal if source else row.get("proposal"),
    )
    staged["dedup_key"] = dedup_key(row.get("language"), staged["middle"]) if verdict.keep else None
    staged.update(dedup_exact=None, dedup_shingles=None, dedup_signature=None)
    return staged
