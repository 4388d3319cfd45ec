"""conf/echo.yaml, generated from the models in `config.py` so it cannot drift from them.

    python -m echo_spark.config_yaml > conf/echo.yaml

Values are the models' defaults, comments their fields' descriptions (and a section's docstring), so
an explanation is written once, in code, and read in both places.
"""

from __future__ import annotations

import inspect
import math
import textwrap
from typing import Any

import yaml
from pydantic import BaseModel

from .config import DERIVED_SEED, EchoConfig

WIDTH = 100
HEADER = """\
# Echo on Spark: every knob, one place. Generated from echo_spark/config.py by
# `python -m echo_spark.config_yaml > conf/echo.yaml`: edit the models there, not this file
# (a test fails when the two differ). Override any key on the command line:
# echo-spark <job> --set section.key=value
"""


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, WIDTH - len(indent) - 2,
                                                         break_long_words=False, break_on_hyphens=False)]


def _value(value: Any) -> str:
    """One line: a list or mapping in flow style, a scalar as YAML writes it."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, allow_unicode=True)
    return text.removesuffix("\n...\n").rstrip("\n")


def _section_model(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _lines(model: type[BaseModel], values: dict[str, Any], indent: str) -> list[str]:
    out: list[str] = []
    for name, field in model.model_fields.items():
        if field.json_schema_extra == DERIVED_SEED:
            continue  # set by the top-level seed; a stage's own seed is an override, not a default
        if field.description:
            out += _comment(field.description, indent)
        nested = _section_model(field.annotation)
        if nested is not None:
            out.append(f"{indent}{name}:")
            doc = nested.__dict__.get("__doc__")
            if doc:
                out += [c for para in inspect.cleandoc(doc).split("\n\n")
                        for c in _comment(" ".join(para.split()), indent + "  ")] + [f"{indent}  #"]
            out += _lines(nested, values[name], indent + "  ")
        else:
            out.append(f"{indent}{name}: {_value(values[name])}")
        if not indent:
            out.append("")
    return out


def render() -> str:
    return HEADER + "\n" + "\n".join(_lines(EchoConfig, EchoConfig().model_dump(mode="json"), "")).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(render(), end="")
