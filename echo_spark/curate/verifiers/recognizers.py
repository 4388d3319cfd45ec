"""Presidio recognizers tuned for code: credentials by their formats, personal data by validation.

Presidio's defaults are built for prose; on code they flood (`self.name` and `main.py` look like
domains, digests and UUIDs like IDs). So no URL, domain, UUID or NER recognizer is registered.
Every recognizer here matches only the secret itself (lookarounds keep the variable name or the
URL around a password out of the span), is case-sensitive unless a key name needs otherwise, and
validates what a format alone cannot tell: entropy for generic assignments, checksums for cards
and IBANs (Presidio's own recognizers), a public suffix for emails, a global address for IPs, a
valid number for phones.

`CREDENTIALS` are the entity types a model must never learn to write; the rest is personal data.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import phonenumbers
import regex
import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, IbanRecognizer, UsSsnRecognizer

# Placeholder-looking values are documentation or templates, not secrets: `api_key = "<your-api-key-here>"`,
# `password = "%(password)s"`, `"${DB_PASSWORD}"`.
_PLACEHOLDER = regex.compile(
    r"your|here|example|sample|dummy|placeholder|changeme|xxxx|\*\*\*|\.\.\.|[<>{}$]|%\(\w+\)s|%s\b"
    r"|^(?:pass(?:word)?|secret|test)\d*$",
    regex.IGNORECASE,
)
# Key names of generic assignments: `api_key = "..."`, `"client_secret": "..."`, `AUTH_TOKEN="..."`.
_KEY_WORDS = r"(?:api[_-]?key|apikey|secret|token|credential|auth[_-]?key|access[_-]?key|private[_-]?key)"
_PASSWORD_WORDS = r"(?:passw(?:or)?d|passwd|pwd)"
_KEY_NAME = r"(?i:[\w-]*" + _KEY_WORDS + r"[\w-]*)"
_PASSWORD_NAME = r"(?i:[\w-]*" + _PASSWORD_WORDS + r"[\w-]*)"
# The same names without the leading `[\w-]*` (the part of a match a trigger needs; see `Needs`).
_KEY_NAME_END = r"(?i:" + _KEY_WORDS + r"[\w-]*)"
_PASSWORD_NAME_END = r"(?i:" + _PASSWORD_WORDS + r"[\w-]*)"
# An assignment of a quoted value: what comes before the operator, and the operator on.
_BEFORE_OPERATOR = r"""["']?\s*"""
_OPERATOR_ON = r"""(?::=|=>|=|:)\s*[bru]?["'`]"""
_ASSIGNED = _BEFORE_OPERATOR + _OPERATOR_ON
# AWS secret keys are found after these names (a lookbehind; their trigger reads them too).
_AWS_KEY_NAME = r"(?i:secret_?access_?key|aws_?secret[\w-]*|aws[\w-]*_sk)"
_AWS_SECRET_NAME = _AWS_KEY_NAME + _ASSIGNED + "?"


def _assigned_to(name: str) -> str:
    """`name + _ASSIGNED`, for a trigger: the search stops at each assignment operator and looks
    back for the name, rather than trying the name's alternatives at every character (the same
    texts match, in about half the time: 129 to 66 us on 14,000 silver documents for the generic
    key, 63 to 41 for AWS; the password trigger, an alternation, was slower so)."""
    return r"(?<=" + name + _BEFORE_OPERATOR + r")" + _OPERATOR_ON


# A PEM private key through its END line; cut off (no END), through its last base64 line, so that
# the code after a truncated key is not swallowed. Lines may be indented or escaped (`\\n` in JSON).
_PEM_LINE_END = r"""(?:\\n|\r?\n|["'`]|\Z)"""
_PEM_PRIVATE_KEY = (
    r"-----BEGIN[A-Z0-9 ]{0,20} PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?!-----END)(?:[A-Za-z0-9+/=:,. \t-]|\\[rn]|\r?\n(?=[ \t]*(?:[A-Za-z0-9+/=]+[ \t]*" + _PEM_LINE_END
    + r"|-----END|[\w-]+: |\r?\n))))*"
    r"(?:-----END[A-Z0-9 ]{0,20} PRIVATE KEY(?: BLOCK)?-----)?"
)


def shannon_entropy(text: str) -> float:
    """Bits per character: random keys score 4 to 6, words and identifiers 2.5 to 3.5."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _not_placeholder(value: str) -> bool:
    return _PLACEHOLDER.search(value) is None


def _mixed(value: str) -> bool:
    """Two or more character classes: real keys and passwords mix them, words and constants do not."""
    classes = [any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
               any(not c.isalnum() for c in value)]
    return sum(classes) >= 2


@cache
def _public_suffixes() -> tldextract.TLDExtract:
    """The public suffix list bundled with tldextract: offline (no fetch, no cache dir)."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


_DOCUMENTATION_DOMAINS = frozenset({"example.com", "example.org", "example.net", "localhost"})


def _real_email(value: str) -> bool:
    domain = value.rpartition("@")[2].lower()
    parts = _public_suffixes()(domain)
    return bool(parts.suffix and parts.domain) and parts.top_domain_under_public_suffix not in _DOCUMENTATION_DOMAINS


def _global_ip(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).is_global
    except ValueError:
        return False


def _valid_phone(value: str) -> bool:
    region = None if value.startswith("+") else "US"
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, region))
    except phonenumbers.NumberParseException:
        return False


@dataclass(frozen=True)
class Needs:
    """What any match of a recognizer contains, checked before its regexes run.

    The pattern recognizers were most of the secrets stage's time, nearly all of it spent failing:
    a lookbehind such as `(?<=password=)` is tried at every character of a document that holds no
    password at all. A substring test is a fast scan, so a recognizer whose required text is absent
    is skipped, and the findings stay exactly those of running every recognizer (a test checks).
    `literals` are case-sensitive; `words` are ASCII and matched in any case (a text with other
    than ASCII characters always runs, since regex case folding maps a few of those to ASCII).
    `trigger`, when set, is a regex that every match, together with the context its lookbehind
    reads, also matches (the lookbehind's text followed by the value, with no lookaround): searched
    only when the substrings are present, it skips code that names a key or holds digits but
    assigns no secret and writes no number of the format (`token = request.args[...]`, `x = 100`).
    """

    literals: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    trigger: regex.Pattern[str] | None = None

    def met(self, text: str, lowered: str) -> bool:
        present = any(literal in text for literal in self.literals) or (
            bool(self.words) and (not text.isascii() or any(word in lowered for word in self.words)))
        return present and (self.trigger is None or self.trigger.search(text) is not None)


def _trigger(*alternatives: str, flags: int = regex.MULTILINE) -> regex.Pattern[str]:
    """One regex that matches where any of `alternatives` does (flags as the recognizer's patterns)."""
    return regex.compile("|".join(f"(?:{a})" for a in alternatives), flags)


# Presidio's own recognizers (cards, IBANs, SSNs) and the phone numbers all need a digit.
DIGITS = tuple("0123456789")
# Presidio's own recognizers compile with IGNORECASE (and DOTALL, MULTILINE): their triggers too.
_PRESIDIO_FLAGS = regex.IGNORECASE | regex.DOTALL | regex.MULTILINE
# Credit cards: four digits, a separator maybe, three more (Presidio's pattern starts so).
_CARD = Needs(literals=DIGITS, trigger=_trigger(r"\d{4}[- ]?\d{3}", flags=_PRESIDIO_FLAGS))
# IBANs: a digit (a trigger, two letters and two digits, took longer to search than the recognizer to run).
_IBAN = Needs(literals=DIGITS)
# SSNs: every one of Presidio's five patterns holds three digits, a separator maybe, two digits.
_SSN = Needs(literals=DIGITS, trigger=_trigger(r"[0-9]{3}[- .]?[0-9]{2}", flags=_PRESIDIO_FLAGS))


class CodeRecognizer(PatternRecognizer):
    """One entity type found by case-sensitive patterns, optionally confirmed by a validator.

    A validator's False discards the match; True raises it to full confidence. `needs` is what every
    match of every pattern contains (see `Needs`): kept next to the patterns so they change together.
    """

    def __init__(self, entity: str, patterns: list[str], needs: Needs, *, score: float = 0.8,
                 validator: Callable[[str], bool] | None = None) -> None:
        super().__init__(
            supported_entity=entity,
            name=f"code_{entity.lower()}",
            patterns=[Pattern(f"{entity.lower()}_{i}", p, score) for i, p in enumerate(patterns)],
            global_regex_flags=regex.MULTILINE,
        )
        self.needs = needs
        self._validator = validator

    def validate_result(self, pattern_text: str) -> bool | None:
        return None if self._validator is None else self._validator(pattern_text)


def recognizer_needs(recognizer: EntityRecognizer) -> Needs | None:
    """What a match of `recognizer` needs; None when unknown (the recognizer always runs)."""
    if isinstance(recognizer, CodeRecognizer):
        return recognizer.needs
    if isinstance(recognizer, CreditCardRecognizer):
        return _CARD
    if isinstance(recognizer, IbanRecognizer):
        return _IBAN
    if isinstance(recognizer, UsSsnRecognizer):
        return _SSN
    return None


def code_recognizers(min_entropy: float) -> list[EntityRecognizer]:
    """Every recognizer the secrets verifier registers (see the module docstring)."""
    def key_value(value: str) -> bool:
        return _not_placeholder(value) and shannon_entropy(value) >= min_entropy

    return [
        CodeRecognizer("AWS_ACCESS_KEY", [r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}\b"],
                       Needs(("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "APKA", "AROA", "ASCA"))),
        CodeRecognizer("AWS_SECRET_KEY", [
            r"(?<=" + _AWS_SECRET_NAME + r")[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
        ], Needs(words=("secret", "aws"), trigger=_trigger(_assigned_to(_AWS_KEY_NAME) + r"?[A-Za-z0-9/+]{40}")),
            validator=lambda v: shannon_entropy(v) >= min_entropy),
        CodeRecognizer("GCP_PRIVATE_KEY_ID", [r"""(?<="private_key_id"\s*:\s*")[0-9a-f]{40}(?=")"""], Needs(('"private_key_id"',))),
        CodeRecognizer("PRIVATE_KEY", [_PEM_PRIVATE_KEY], Needs(("-----BEGIN",)), score=1.0),
        CodeRecognizer("AZURE_KEY", [
            r"(?<=(?:AccountKey|SharedAccessKey|SharedSecretValue)=)[A-Za-z0-9+/]{30,}={0,2}",
            r"(?<=[?&]sig=)[A-Za-z0-9%+/]{30,}(?:%3D|=){0,2}",
        ], Needs(("AccountKey=", "SharedAccessKey=", "SharedSecretValue=", "sig="))),
        CodeRecognizer("GITHUB_TOKEN", [r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b", r"\bgithub_pat_[A-Za-z0-9_]{40,}\b"],
                       Needs(("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"))),
        CodeRecognizer("GITLAB_TOKEN", [r"\bglpat-[A-Za-z0-9_-]{20,}"], Needs(("glpat-",))),
        CodeRecognizer("SLACK_TOKEN", [
            r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
            r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}",
        ], Needs(("xox", "https://hooks.slack.com/services/"))),
        CodeRecognizer("STRIPE_KEY", [r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}\b", r"\bwhsec_[A-Za-z0-9]{24,}\b"],
                       Needs(("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"))),
        CodeRecognizer("OPENAI_KEY", [r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}"], Needs(("sk-",)),
                       validator=lambda v: _mixed(v[3:]) and shannon_entropy(v) >= min_entropy),
        CodeRecognizer("ANTHROPIC_KEY", [r"\bsk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{32,}"], Needs(("sk-ant-",))),
        CodeRecognizer("GOOGLE_API_KEY", [r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"], Needs(("AIza",))),
        CodeRecognizer("JWT", [r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"], Needs(("eyJ",))),
        CodeRecognizer("NPM_TOKEN", [r"\bnpm_[A-Za-z0-9]{36}\b", r"""(?<=_authToken=)[^\s"'`]{16,}"""],
                       Needs(("npm_", "_authToken="))),
        CodeRecognizer("PYPI_TOKEN", [r"\bpypi-AgE[A-Za-z0-9_-]{50,}"], Needs(("pypi-AgE",))),
        CodeRecognizer("HUGGINGFACE_TOKEN", [r"\bhf_[A-Za-z0-9]{34,}\b"], Needs(("hf_",))),
        CodeRecognizer("TWILIO_KEY", [r"\bSK[0-9a-f]{32}\b"], Needs(("SK",))),
        CodeRecognizer("SENDGRID_KEY", [r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"], Needs(("SG.",))),
        CodeRecognizer("MAILGUN_KEY", [r"\bkey-[0-9a-f]{32}\b"], Needs(("key-",))),
        CodeRecognizer("SHOPIFY_TOKEN", [r"\bshp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}\b"], Needs(("shp",))),
        CodeRecognizer("DIGITALOCEAN_TOKEN", [r"\bdo[opr]_v1_[0-9a-f]{64}\b"], Needs(("doo_v1_", "dop_v1_", "dor_v1_"))),
        CodeRecognizer("DOCKER_TOKEN", [r"\bdckr_pat_[A-Za-z0-9_-]{27,}"], Needs(("dckr_pat_",))),
        CodeRecognizer("DATABRICKS_TOKEN", [r"\bdapi[0-9a-f]{32}(?:-\d)?\b"], Needs(("dapi",))),
        CodeRecognizer("TELEGRAM_TOKEN", [r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b"], Needs((":AA",))),
        CodeRecognizer("DISCORD_WEBHOOK", [r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{5,}/[A-Za-z0-9_-]{20,}"],
                       Needs(("/api/webhooks/",))),
        CodeRecognizer("SQUARE_TOKEN", [r"\bsq0(?:atp|csp)-[A-Za-z0-9_-]{22,}"], Needs(("sq0atp-", "sq0csp-"))),
        CodeRecognizer("PASSWORD", [
            # scheme://user:PASSWORD@host, in any URL or DSN
            r"""(?<=\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@"'`<>]{0,64}:)[^\s@/"'`<>]{3,128}(?=@[\w.-])""",
            # ADO.NET / ODBC: Password=...; Pwd=...
            r"""(?<=\b(?i:password|pwd)=)[^;"'`\s]{4,}""",
            # password = "..."
            r"(?<=" + _PASSWORD_NAME + _ASSIGNED + r""")[^"'`\s]{6,}(?=["'`])""",
        ], Needs(("://",), words=("passw", "pwd"), trigger=_trigger(
            r"""://[^\s:/@"'`<>]{0,64}:[^\s@/"'`<>]{3,128}@[\w.-]""",
            r"""(?i:password|pwd)=[^;"'`\s]{4}""",
            _PASSWORD_NAME_END + _ASSIGNED + r"""[^"'`\s]{6,}["'`]""",
        )), validator=lambda v: _not_placeholder(v) and _mixed(v)),
        CodeRecognizer("GENERIC_SECRET", [r"(?<=" + _KEY_NAME + _ASSIGNED + r""")[^"'`\s]{12,}(?=["'`])"""],
                       Needs(words=("key", "secret", "token", "credential"),
                             trigger=_trigger(_assigned_to(_KEY_NAME_END) + r"""[^"'`\s]{12,}["'`]""")),
                       validator=key_value),
        CodeRecognizer("EMAIL", [r"(?<!://[^\s/@:]*:[^\s/@:]*)\b[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"],
                       Needs(("@",)),
                       validator=_real_email),
        CodeRecognizer("IP_ADDRESS", [
            r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.]*\d)",
            r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])",
            r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){2,6}(?::[0-9a-fA-F]{1,4}){1,5}(?![\w:])",
        ], Needs((".", ":"), trigger=_trigger(r"\.\d{1,3}\.\d{1,3}\.", r":[0-9a-fA-F]{1,4}:")),
            validator=_global_ip),
        CodeRecognizer("PHONE", [
            r"(?<![\w+.-])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w.-]*\d)",
            r"(?<![\w+.-])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w.-]*\d)",
        ], Needs(literals=DIGITS, trigger=_trigger(r"\d{3}\)?[ .-]\d{3}", r"\+\d")),
            validator=_valid_phone),
        CreditCardRecognizer(supported_entity="CREDIT_CARD"),
        IbanRecognizer(supported_entity="IBAN"),
        UsSsnRecognizer(supported_entity="US_SSN"),
    ]


CREDENTIALS = frozenset({
    "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "GCP_PRIVATE_KEY_ID", "PRIVATE_KEY", "AZURE_KEY", "GITHUB_TOKEN",
    "GITLAB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY", "OPENAI_KEY", "ANTHROPIC_KEY", "GOOGLE_API_KEY", "JWT",
    "NPM_TOKEN", "PYPI_TOKEN", "HUGGINGFACE_TOKEN", "TWILIO_KEY", "SENDGRID_KEY", "MAILGUN_KEY",
    "SHOPIFY_TOKEN", "DIGITALOCEAN_TOKEN", "DOCKER_TOKEN", "DATABRICKS_TOKEN", "TELEGRAM_TOKEN",
    "DISCORD_WEBHOOK", "SQUARE_TOKEN", "PASSWORD", "GENERIC_SECRET",
})
