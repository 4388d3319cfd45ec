"""Realistic-format fake secrets, generated from the templates in fixtures/curate/planted_secrets.json.

Values are drawn from a seeded RNG per kind, so the repository holds no credential-shaped literal
(and no push-protection scanner trips on a fixture), yet every run plants the same values.
"""

from __future__ import annotations

import json
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path

from echo_spark.curate.records import Gap

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "curate" / "planted_secrets.json"
_ALPHABETS = {
    "A": string.ascii_uppercase + string.digits,
    "a": string.ascii_letters + string.digits,
    "u": string.ascii_letters + string.digits + "-_",
    "b": string.ascii_letters + string.digits + "+/",
    "h": "0123456789abcdef",
    "d": string.digits,
    "l": string.ascii_lowercase,
}
_TOKEN = re.compile(r"\{(\w+)(?::(\w+))?(?::(\d+))?\}")
_IBAN_BBAN = {"DE": "n18", "GB": "a4n14", "FR": "n23"}
_PUBLIC_FIRST_OCTETS = [34, 52, 54, 81, 104, 142, 151, 185, 212]


@dataclass(frozen=True)
class Planted:
    kind: str
    language: str
    line: str  # the code line, the value in place
    value: str  # the secret itself

    @property
    def before(self) -> str:
        return self.line[: self.line.index(self.value)]

    @property
    def after(self) -> str:
        return self.line[self.line.index(self.value) + len(self.value) :]


def _luhn(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    digits = body + str((10 - total % 10) % 10)
    if prefix.startswith("4"):
        return " ".join(digits[i : i + 4] for i in range(0, 16, 4))
    if prefix.startswith("5"):
        return "-".join(digits[i : i + 4] for i in range(0, 16, 4))
    return digits


def _iban(country: str, rng: random.Random) -> str:
    bban = ""
    for kind, count in re.findall(r"([an])(\d+)", _IBAN_BBAN[country]):
        alphabet = string.ascii_uppercase if kind == "a" else string.digits
        bban += "".join(rng.choice(alphabet) for _ in range(int(count)))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    iban = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if country == "DE" else iban


def _fill(template: str, rng: random.Random) -> str:
    def one(match: re.Match[str]) -> str:
        name, arg, length = match.group(1), match.group(2), match.group(3)
        if name == "luhn":
            return _luhn(arg, int(length), rng)
        if name == "iban":
            return _iban(arg, rng)
        if name == "ip4":
            return ".".join([str(rng.choice(_PUBLIC_FIRST_OCTETS))] + [str(rng.randint(1, 254)) for _ in range(3)])
        if name == "ssn":
            return f"{rng.randint(101, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1001, 9999):04d}"
        return "".join(rng.choice(_ALPHABETS[name]) for _ in range(int(arg)))

    return _TOKEN.sub(one, template)


def planted_secrets() -> list[Planted]:
    kinds = json.loads(FIXTURE.read_text(encoding="utf-8"))["kinds"]
    planted = []
    for spec in kinds:
        value = _fill(spec["value"], random.Random(spec["kind"]))
        planted.append(Planted(spec["kind"], spec["language"], spec["line"].replace("{secret}", value), value))
    return planted


CONTEXT = {
    "python": ("import os\n\n\ndef load(settings):\n    retries = 3\n", "    return settings\n"),
    "javascript": ("import fs from 'fs';\n\nfunction load(settings) {\n  let retries = 3;\n", "  return settings;\n}\n"),
    "cpp": ("#include <string>\n\nint load(int settings) {\n  int retries = 3;\n", "  return settings;\n}\n"),
}


def placements(p: Planted) -> dict[str, Gap]:
    """The planted value in the context, as the whole commit, and split across the cursor."""
    head, tail = CONTEXT[p.language]
    indent = "    " if p.language == "python" else "  "
    line = indent + p.line.lstrip()
    cut = len(indent + p.before.lstrip())
    half = cut + len(p.value) // 2
    statement = indent + ("retries += 1\n" if p.language == "python" else "retries += 1;\n")
    return {
        "context": Gap("r", head + line + "\n", tail, statement, p.language, proposal=line),
        "commit": Gap("r", head + line[:cut], line[cut + len(p.value) :] + "\n" + tail, p.value, p.language),
        "across_cursor": Gap("r", head + line[:half], tail, line[half:] + "\n", p.language),
    }
