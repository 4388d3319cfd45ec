"""PII and secrets verifier: redact them in the context, drop the gap when the commit is one.

Presidio's AnalyzerEngine runs offline: its NLP engine is a blank spaCy pipeline (a tokenizer, no
model to download) and its registry holds only the code-tuned recognizers of `recognizers.py`.
The whole document prefix + C_N + suffix is scanned at once, so a key split by the cursor is still
one finding. Findings in the context (C0) are replaced by typed placeholders (`<EMAIL>`,
`<AWS_ACCESS_KEY>`); a credential that overlaps C_N drops the gap, because the model would learn to
write secrets (a placeholder target would teach it to write placeholders instead of code).
Personal data wholly inside C_N (an email in a docstring) is redacted there like in C0.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache


@contextmanager
def _uninstalled(*modules: str) -> Iterator[None]:
    """Imports in this block find `modules` missing, unless already imported. spaCy's thinc imports
    torch and presidio imports transformers, both only for engines this scanner never builds: they
    were three quarters of the 4.4 s a curate worker took to get ready (1.0 s without them), paid
    by every worker process of every run. Importing them later in the process works as usual."""
    hidden = [name for name in modules if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # what `import` reads as not installed
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


with _uninstalled("torch", "transformers"):
    import spacy
    from spacy.language import Language as SpacyLanguage
    from spacy.tokens import Doc
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

from ..records import Gap, Verdict
from .recognizers import CREDENTIALS, Needs, code_recognizers, recognizer_needs

STAGE = "secrets"


@SpacyLanguage.component("echo_lowercase_lemma")
def _lowercase_lemma(doc: Doc) -> Doc:
    """A blank pipeline has no lemmatizer, and Presidio reads context words from lemmas: with every
    lemma empty, no context word ("ssn", "card") ever raised a score. The lowercased word stands in."""
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class _BlankSpacyNlpEngine(SpacyNlpEngine):
    """spaCy's blank English tokenizer: nothing to download, no NER (pattern recognizers only)."""

    def load(self) -> None:
        nlp = spacy.blank("en")
        nlp.add_pipe("echo_lowercase_lemma")
        self.nlp = {"en": nlp}


@dataclass(frozen=True)
class Finding:
    entity: str
    start: int  # character offsets in the scanned text
    end: int
    score: float


@dataclass(frozen=True)
class SecretsResult:
    verdict: Verdict
    gap: Gap  # redacted; the original gap when dropped
    findings: tuple[Finding, ...]  # in document offsets (prefix + C_N + suffix)


class SecretScanner:
    """One AnalyzerEngine, built once and reused for every gap of a batch (it is costly to build)."""

    def __init__(self, min_score: float, min_entropy: float) -> None:
        recognizers = code_recognizers(min_entropy)
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
        nlp_engine = _BlankSpacyNlpEngine()
        self.engine = AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])
        self.min_score = min_score
        # Only a few recognizers read the tokens the NLP engine makes of the text (their context
        # words raise a score); tokenizing every document was two thirds of this stage's time. So
        # a first pass runs without tokens, and only a text where such an entity turned up with a
        # score that its context could lift to `min_score` is analyzed again in full (the enhancer
        # adds `context_similarity_factor` and floors at `min_score_with_context_similarity`: a
        # 0.05 "very weak" SSN pattern, such as any nine-digit number, can reach 0.4, never 0.5).
        self._context_entities = {e for r in recognizers if getattr(r, "context", None) for e in r.supported_entities}
        enhancer = self.engine.context_aware_enhancer
        self._lift = (enhancer.context_similarity_factor, enhancer.min_score_with_context_similarity)
        self._no_tokens = NlpArtifacts(entities=[], tokens=nlp_engine.nlp["en"].make_doc(""), tokens_indices=[],
                                       lemmas=[], nlp_engine=nlp_engine, language="en")
        self._needs: dict[str, Needs | None] = {e: recognizer_needs(r) for r in recognizers for e in r.supported_entities}

    def find(self, text: str, *, prefilter: bool = True) -> list[Finding]:
        """Findings in text order; overlapping ones merged into one span (credentials win the type).
        Only the recognizers whose required text is present run (`prefilter=False` runs them all:
        the reference the prefilter is tested against)."""
        if not text:
            return []
        entities = self._possible(text) if prefilter else None
        if entities == []:
            return []
        results = self.engine.analyze(text=text, language="en", entities=entities, score_threshold=0.0,
                                      nlp_artifacts=self._no_tokens)
        if any(r.entity_type in self._context_entities and self._liftable(r.score) for r in results):
            results = self.engine.analyze(text=text, language="en", entities=entities, score_threshold=self.min_score)
        else:
            results = [r for r in results if r.score >= self.min_score]
        merged: list[Finding] = []
        for r in sorted(results, key=lambda r: (r.start, -r.end)):
            found = Finding(r.entity_type, r.start, r.end, r.score)
            if merged and found.start < merged[-1].end:
                last = merged[-1]
                wins = _rank(found) > _rank(last)
                merged[-1] = Finding(found.entity if wins else last.entity, last.start, max(last.end, found.end),
                                     max(last.score, found.score))
            else:
                merged.append(found)
        return merged

    def _liftable(self, score: float) -> bool:
        """Can context words raise this score to `min_score`? (The enhancer's own arithmetic.)"""
        factor, floor = self._lift
        return min(max(score + factor, floor), 1.0) >= self.min_score

    def _possible(self, text: str) -> list[str]:
        lowered = text.lower()
        return [entity for entity, needs in self._needs.items() if needs is None or needs.met(text, lowered)]


def _rank(finding: Finding) -> tuple[bool, bool, float]:
    """Which type names a merged span: a credential over personal data, a known format over a generic key."""
    return finding.entity in CREDENTIALS, finding.entity != "GENERIC_SECRET", finding.score


@cache
def shared_scanner(min_score: float, min_entropy: float) -> SecretScanner:
    """The process-wide scanner for a configuration (the Spark wiring calls per batch)."""
    return SecretScanner(min_score, min_entropy)


def redact(text: str, findings: list[Finding], offset: int = 0) -> str:
    """Replace each finding (document offsets, text starting at `offset`) by `<ENTITY>`."""
    out, position = [], 0
    for f in findings:
        out.append(text[position : f.start - offset])
        out.append(f"<{f.entity}>")
        position = f.end - offset
    out.append(text[position:])
    return "".join(out)


def check_secrets(gap: Gap, scanner: SecretScanner) -> SecretsResult:
    """Redact secrets and PII in C0 (and PII inside C_N); drop the gap when a secret is the completion."""
    document = gap.prefix + gap.committed + gap.suffix_text
    findings = scanner.find(document)
    commit_start, commit_end = len(gap.prefix), len(gap.prefix) + len(gap.committed)
    parts: dict[str, list[Finding]] = {"prefix": [], "committed": [], "suffix": []}
    for f in findings:
        if f.end <= commit_start:
            parts["prefix"].append(f)
        elif f.start >= commit_end:
            parts["suffix"].append(f)
        elif commit_start <= f.start and f.end <= commit_end and f.entity not in CREDENTIALS:
            parts["committed"].append(f)
        elif f.start < commit_end and f.end > commit_start:
            return SecretsResult(Verdict.dropped(STAGE, f"secret_in_commit:{f.entity}"), gap, tuple(findings))
        else:
            return SecretsResult(Verdict.dropped(STAGE, f"secret_across_gap:{f.entity}"), gap, tuple(findings))
    proposal = gap.proposal
    if proposal:
        proposal = redact(proposal, scanner.find(proposal))
    redacted = replace(
        gap,
        prefix=redact(gap.prefix, parts["prefix"]),
        committed=redact(gap.committed, parts["committed"], commit_start),
        suffix=None if gap.suffix is None else redact(gap.suffix, parts["suffix"], commit_end),
        proposal=proposal,
    )
    note = "redacted" if any(parts.values()) or proposal != gap.proposal else None
    return SecretsResult(Verdict.kept(STAGE, note=note), redacted, tuple(findings))
