"""Secrets verifier: planted secrets never survive; clean standard-library code is left alone."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from echo_spark.config import CurateConfig
from echo_spark.curate.records import Gap
from echo_spark.curate.verifiers.recognizers import CREDENTIALS, shannon_entropy
from echo_spark.curate.verifiers.secrets import SecretScanner, SecretsResult, check_secrets, shared_scanner

from .planted import Planted, placements, planted_secrets
from .stdlib_samples import stdlib_gaps

_CONFIG = CurateConfig()
PLANTED = planted_secrets()

@pytest.fixture(scope="module")
def scanner() -> SecretScanner:
    return shared_scanner(_CONFIG.secrets_min_score, _CONFIG.secrets_min_entropy)


def _survives(result: SecretsResult, value: str) -> bool:
    """Whether any piece of the value (a whole value, or a line of a multi-line key) is still in the gap."""
    if not result.verdict.keep:
        return False
    gap = result.gap
    texts = "\n".join([gap.prefix, gap.committed, gap.suffix_text, gap.proposal or ""])
    pieces = [value] + [p for p in re.split(r"\s|\\n", value) if len(p) >= 12 and "PRIVATE" not in p]
    return any(piece in texts for piece in pieces)


def test_planted_set_has_at_least_50_kinds() -> None:
    assert len({p.kind for p in PLANTED}) >= 50


@pytest.mark.parametrize("planted", PLANTED, ids=[p.kind for p in PLANTED])
def test_planted_secret_never_survives(planted: Planted, scanner: SecretScanner) -> None:
    """Recall 100%: in the context it is redacted, as the commit or across the cursor the gap drops (or, PII, is redacted)."""
    for where, gap in placements(planted).items():
        result = check_secrets(gap, scanner)
        assert not _survives(result, planted.value), f"{planted.kind} survived placed in the {where}"
    assert check_secrets(placements(planted)["context"], scanner).verdict.keep


def test_secret_commit_drops_with_its_type(scanner: SecretScanner) -> None:
    key = next(p for p in PLANTED if p.kind == "aws_access_key_python")
    result = check_secrets(placements(key)["commit"], scanner)
    assert (result.verdict.keep, result.verdict.reason) == (False, "secret_in_commit:AWS_ACCESS_KEY")


def test_context_gets_typed_placeholders_and_commit_stays(scanner: SecretScanner) -> None:
    email = next(p for p in PLANTED if p.kind == "email_string")
    gap = placements(email)["context"]
    result = check_secrets(gap, scanner)
    assert result.verdict.note == "redacted"
    assert 'CONTACT = "<EMAIL>"' in result.gap.prefix
    assert result.gap.committed == gap.committed
    assert result.gap.proposal is not None and "<EMAIL>" in result.gap.proposal


def test_personal_data_inside_the_commit_is_redacted_not_dropped(scanner: SecretScanner) -> None:
    gap = Gap("r", "def notify():\n", "\n", '    """Pages alex.moreau@fieldline.de when the queue stalls."""', "python")
    result = check_secrets(gap, scanner)
    assert result.verdict.keep
    assert result.gap.committed == '    """Pages <EMAIL> when the queue stalls."""'
    assert "EMAIL" not in CREDENTIALS


def test_password_in_a_dsn_is_cut_out_of_the_url_only(scanner: SecretScanner) -> None:
    gap = Gap("r", 'DSN = "postgres://app:Zq81vXk2LmP0@db.fieldline.de:5432/orders"\n', None, "connect(DSN)", "python")
    assert check_secrets(gap, scanner).gap.prefix == 'DSN = "postgres://app:<PASSWORD>@db.fieldline.de:5432/orders"\n'


@pytest.mark.parametrize("code", [
    "self.name = name\nimport main\nrun('main.py', os.path.join(base, 'setup.cfg'))\n",
    'digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")\n',
    'MD5_EMPTY = "d41d8cd98f00b204e9800998ecf8427e"\nSHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"\n',
    'NAMESPACE_URL = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")\nrequest_id = "123e4567-e89b-12d3-a456-426614174000"\n',
    'commit = "9fceb02d0ae598e95dc970b74767f19372d61af8"\nDOCS = "https://docs.python.org/3/library/hashlib.html"\n',
    'blob = base64.b64encode(b"hello world")  # aGVsbG8gd29ybGQ=\nLOCAL = "127.0.0.1"\nPORT = 8080\n',
    'token = tokenize.generate_tokens(readline)\npassword = getpass.getpass()\nKEY = os.environ["API_KEY"]\n',
    'api_key = "<your-api-key-here>"\nx = a @ b.T\nversion = "3.11.7"\n',
])
def test_ordinary_code_has_no_findings(code: str, scanner: SecretScanner) -> None:
    assert scanner.find(code) == []


def test_entropy_separates_keys_from_words() -> None:
    assert shannon_entropy("Zq81vXk2LmP0aB7cW3nR5tY9uI4oE6s") > _CONFIG.secrets_min_entropy
    assert shannon_entropy("aaaaaaaabbbbbbbb") < _CONFIG.secrets_min_entropy


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _stdlib_samples(count: int) -> list[str]:
    return ["".join(parts) for parts in stdlib_gaps(count)]


def test_clean_standard_library_code_is_rarely_flagged(scanner: SecretScanner) -> None:
    """< 1% of stdlib gap windows flagged. Author e-mail addresses in stdlib headers are real personal
    data: those windows are counted apart, and there an e-mail must be all that is found."""
    samples = _stdlib_samples(300)
    assert len(samples) >= 250
    with_emails = [s for s in samples if _EMAIL.search(s)]
    clean = [s for s in samples if not _EMAIL.search(s)]
    flagged = [s for s in clean if scanner.find(s)]
    assert len(flagged) / len(clean) < 0.01, [scanner.find(s) for s in flagged]
    for sample in with_emails:
        assert {f.entity for f in scanner.find(sample)} <= {"EMAIL"}


def _documents(gap: Gap) -> list[str]:
    return [gap.prefix + gap.committed + gap.suffix_text, gap.proposal or ""]


def test_prefilter_finds_what_every_recognizer_finds(scanner: SecretScanner) -> None:
    """The prefilter only skips recognizers that cannot match: every planted secret in every placement,
    and stdlib windows (e-mails, IPs, digits), give the same findings with it and without it."""
    # A long s is an "s" to regex's case folding but not to str.lower(): such a text runs every recognizer.
    folded = 'ſecret = "Zq81vXk2LmP0aB7cW3nR5tY9uI4oE6s"\n'
    texts = [t for p in PLANTED for gap in placements(p).values() for t in _documents(gap)] + _stdlib_samples(300) + [folded]
    assert scanner.find(folded, prefilter=False)
    assert sum(bool(scanner.find(t, prefilter=False)) for t in texts) > len(PLANTED)
    for text in texts:
        assert scanner.find(text) == scanner.find(text, prefilter=False), text


_PIECES = [p.value for p in PLANTED] + [
    "PassWord", "PWD=", "ApI_KeY", "SECRET", "Token", "credential", "aws_", "://u:", "@", "sig=", "_authToken=",
    "ſecret", "\u212aey", "passwſrd", "İ", " = '", '"', "\n", "  ", "Zq81vXk2LmP0aB7cW3nR5tY9uI4oE6s", "192.168.",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=12), max_size=12))
def test_prefilter_is_exact_on_mixed_text(scanner: SecretScanner, parts: list[str]) -> None:
    """Pieces of secrets and key names in any case, with characters that regex case folding maps to
    ASCII (long s, Kelvin sign): skipping recognizers never changes what is found."""
    text = "".join(parts)
    assert scanner.find(text) == scanner.find(text, prefilter=False)


@pytest.mark.parametrize("min_score,found", [(0.5, set()), (0.4, {"US_SSN"})])
def test_context_words_lift_a_score_only_where_it_can_reach_the_threshold(min_score: float, found: set[str]) -> None:
    """A nine-digit number is a 0.05 "very weak" SSN; the word "ssn" before it lifts it to 0.4, so it
    is found under a 0.4 threshold and not under the default 0.5 (where the costly pass with
    context words is skipped); without the word it is found under neither."""
    lowered = shared_scanner(min_score, _CONFIG.secrets_min_entropy)
    assert {f.entity for f in lowered.find("ssn = 536224871\n")} == found
    assert lowered.find("count = 536224871\n") == []


def _one_of(*options: str):
    return st.sampled_from(options)


# Assignments built piece by piece, each piece sometimes one that breaks the match.
_ASSIGNMENT = st.tuples(
    _one_of("", "x = 1\n", "\n", "token"), _one_of("api_key", "API-KEY", "my_secret", "Token", "credentials",
                                               "aws_secret", "AWS_SK", "secret_access_key", "name", "keys"),
    _one_of("", "_v2", '"', "'", "-x"), _one_of("", " ", "\t", "\n", "  "), _one_of("=", ":", ":=", "=>", "==", ";", ""),
    _one_of("", " ", "\n"), _one_of("", "b", "r", "u", "f"), _one_of('"', "'", "`", ""),
    _one_of("abcdefghijklmnop", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcd", "A1b2C3d4E5f6", "short", "has space inside"),
    _one_of('"', "'", "`", "", " "), _one_of("", "\n", ", other = 'x'"),
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.lists(_ASSIGNMENT, min_size=1, max_size=3).map("".join))
def test_operator_anchored_triggers_match_what_the_plain_ones_match(text):
    """A trigger that stops at the assignment operator and looks back for the key's name matches
    exactly the texts the name-first regex does."""
    import regex

    from echo_spark.curate.verifiers import recognizers as R

    value = r"""[^"'`\s]{12,}["'`]"""
    plain = regex.compile(R._KEY_NAME_END + R._ASSIGNED + value, regex.MULTILINE)
    anchored = regex.compile(R._assigned_to(R._KEY_NAME_END) + value, regex.MULTILINE)
    assert (plain.search(text) is None) == (anchored.search(text) is None)
    aws_plain = regex.compile(R._AWS_SECRET_NAME + "[A-Za-z0-9/+]{40}", regex.MULTILINE)
    aws_anchored = regex.compile(R._assigned_to(R._AWS_KEY_NAME) + "?[A-Za-z0-9/+]{40}", regex.MULTILINE)
    assert (aws_plain.search(text) is None) == (aws_anchored.search(text) is None)
