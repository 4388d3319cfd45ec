"""The comparison of arms: one Markdown table (each metric with its 95% interval), the ratios to
the base arm (paired bootstrap), acceptance per slice, the target check, a JSON copy and a PNG bar
chart with the intervals.

The target (the issue's, after the paper's 25.7% -> 35.7%, 1.39x): the Echo arm's acceptance at least
`TARGET_RATIO` times the base arm's, with intervals that do not overlap, and above accepted-only's.
It is computed from the measured estimates, whichever way it comes out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .bootstrap import Estimate, paired_ratio
from .metrics import SLICES, ArmScores, Columns

BASE, ACCEPTED_ONLY, ECHO = "base", "accepted-only", "echo"
TARGET_RATIO = 1.4
# Ratios to the base arm reported for each other arm.
RATIO_METRICS = ("acceptance", "acceptance_per_request", "chars_saved", "exact_match")
CHART_METRICS = ("acceptance", "acceptance_per_request", "partial", "exact_match", "edit_similarity", "chars_saved", "void_recall")
# The replay's outcomes (`replay.Reaction.how`), most to least useful.
HOW_ORDER = ("exact", "ahead", "edited", "short", "lines", "word", "wrong", "unwanted", "silent")
HOW_MEANING = {
    "exact": "the unit, exactly",
    "ahead": "the unit and a right start of what came next",
    "edited": "close enough to the unit to take and fix",
    "short": "a right start that stops short",
    "lines": "right first lines, then wrong (too long)",
    "word": "only the next word right",
    "wrong": "nothing right",
    "unwanted": "a proposal where nothing was wanted",
    "silent": "no proposal",
}
TABLE_METRICS = ("acceptance", "acceptance_per_request", "partial", "exact_match", "edit_similarity", "chars_saved",
                 "void_precision", "void_recall")


@dataclass(frozen=True)
class ArmResult:
    arm: str
    model: str  # the model folder evaluated
    scores: ArmScores
    columns: Columns  # per request, in the shared request order (for paired ratios)
    benchmarks: dict[str, dict[str, Any]]  # benchmark -> tasks, exact_match, pass_at_1
    mlflow_run_id: str | None = None
    how: dict[str, int] = field(default_factory=dict)  # replay outcome (exact, short, wrong, ...) -> requests
    real_copilot: dict[str, float | int] = field(default_factory=dict)  # real_copilot.agreement


@dataclass(frozen=True)
class Comparison:
    arms: list[ArmResult]
    # arm -> metric -> that arm's rate over the base arm's, with a paired interval
    ratios: dict[str, dict[str, Estimate]]
    target: dict[str, Any]


def compare(arms: Sequence[ArmResult], counts: np.ndarray, confidence: float) -> Comparison:
    by_name = {a.arm: a for a in arms}
    ratios: dict[str, dict[str, Estimate]] = {}
    base = by_name.get(BASE)
    if base is not None:
        for arm in arms:
            if arm.arm != BASE:
                ratios[arm.arm] = {
                    m: paired_ratio(*arm.columns.ratio(m), *base.columns.ratio(m), counts, confidence) for m in RATIO_METRICS
                }
    return Comparison(list(arms), ratios, _target(by_name, ratios))


def _target(by_name: dict[str, ArmResult], ratios: dict[str, dict[str, Estimate]]) -> dict[str, Any]:
    if BASE not in by_name or ECHO not in by_name:
        return {"checked": False, "why": f"needs the {BASE} and {ECHO} arms"}
    echo, base = by_name[ECHO].scores.overall["acceptance"], by_name[BASE].scores.overall["acceptance"]
    ratio = ratios[ECHO]["acceptance"]
    result: dict[str, Any] = {
        "checked": True,
        "ratio": ratio.value,
        "ratio_interval": [ratio.low, ratio.high],
        "base_acceptance": base.value,
        "ratio_at_least": TARGET_RATIO,
        "ratio_met": ratio.value is not None and ratio.value >= TARGET_RATIO,
        "intervals_separate": echo.value is not None and base.value is not None and not echo.overlaps(base) and echo.value > base.value,
    }
    if ACCEPTED_ONLY in by_name:
        other = by_name[ACCEPTED_ONLY].scores.overall["acceptance"].value
        result["beats_accepted_only"] = echo.value is not None and other is not None and echo.value > other
    result["met"] = all(v for k, v in result.items() if k in ("ratio_met", "intervals_separate", "beats_accepted_only"))
    return result


def _pct(e: Estimate) -> str:
    if e.value is None:
        return "n/a"
    return f"{100 * e.value:.1f}% [{100 * e.low:.1f}, {100 * e.high:.1f}]"


def _times(e: Estimate) -> str:
    if e.value is None:
        return "n/a"
    return f"{e.value:.2f}x [{e.low:.2f}, {e.high:.2f}]"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def comparison_table(comparison: Comparison) -> list[str]:
    """The headline table: one row per arm."""
    lines = [
        "| arm | " + " | ".join(m.replace("_", " ") for m in TABLE_METRICS) + " | FIM exact match | FIM pass@1 |",
        "|---|" + "---:|" * (len(TABLE_METRICS) + 2),
    ]
    for arm in comparison.arms:
        bench = arm.benchmarks.get("all", {})
        cells = [_pct(arm.scores.overall[m]) for m in TABLE_METRICS]
        cells += [_share(bench.get("exact_match")), _share(bench.get("pass_at_1"))]
        lines.append(f"| {arm.arm} | " + " | ".join(cells) + " |")
    return lines


def target_line(target: dict[str, Any]) -> str:
    if not target.get("checked"):
        return f"Target not checked: {target.get('why')}."
    ratio, (low, high) = target["ratio"], target["ratio_interval"]
    if ratio is None:
        shown = "n/a (base acceptance is 0)" if target["base_acceptance"] == 0 else "n/a"
    else:
        shown = f"{ratio:.2f}x" + (f" [{low:.2f}, {high:.2f}]" if low is not None else "")
    parts = [
        f"Echo acceptance / base: {shown} (target >= {target['ratio_at_least']}x: {'met' if target['ratio_met'] else 'not met'})",
        f"95% intervals {'separate' if target['intervals_separate'] else 'overlap'}",
    ]
    if "beats_accepted_only" in target:
        parts.append(f"Echo {'beats' if target['beats_accepted_only'] else 'does not beat'} accepted-only")
    return "; ".join(parts) + f". Target {'MET' if target['met'] else 'NOT MET'}."


def write_report(comparison: Comparison, context: dict[str, Any], out_dir: Path) -> Path:
    """report.md, report.json and report.png in `out_dir`; returns the Markdown's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(_as_json(comparison, context), indent=2, default=str))
    _plot(comparison, out_dir / "report.png")
    requests = comparison.arms[0].scores.requests if comparison.arms else 0
    lines = [
        "# Evaluation: arms on the held-out cohort",
        "",
        f"{requests} held-out requests replayed per arm (developers and files no training step saw), "
        f"{context.get('confidence', 0.95):.0%} bootstrap intervals ({context.get('resamples')} resamples of whole documents). "
        f"Held-out requests from: `{context.get('heldout_source', context.get('simulation_dir'))}`.",
        "",
        *comparison_table(comparison),
        "",
        target_line(comparison.target),
        "",
    ]
    if comparison.ratios:
        lines += ["Ratio to the base arm (paired bootstrap on the same requests):", "",
                  "| arm | " + " | ".join(m.replace("_", " ") for m in RATIO_METRICS) + " |",
                  "|---|" + "---:|" * len(RATIO_METRICS)]
        lines += [f"| {arm} | " + " | ".join(_times(r[m]) for m in RATIO_METRICS) + " |" for arm, r in comparison.ratios.items()]
        lines.append("")
    for name in SLICES:
        values = sorted({v for arm in comparison.arms for v in arm.scores.slices[name]})
        lines += [f"Acceptance by {name.replace('_', ' ')} (requests in the slice):", "",
                  f"| {name} | requests | " + " | ".join(a.arm for a in comparison.arms) + " |",
                  "|---|---:|" + "---:|" * len(comparison.arms)]
        for value in values:
            first = comparison.arms[0].scores.slices[name].get(value, {})
            n = int(first["shown"].n) if "shown" in first else 0
            cells = [_pct(a.scores.slices[name][value]["acceptance"]) if value in a.scores.slices[name] else "n/a"
                     for a in comparison.arms]
            lines.append(f"| {value} | {n} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += _how_table(comparison) + _real_copilot_table(comparison)
    lines += ["Models:", ""] + [f"- {a.arm}: `{a.model}`" + (f" (MLflow run `{a.mlflow_run_id}`)" if a.mlflow_run_id else "")
                                for a in comparison.arms]
    lines += ["", "![arms](report.png)", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def _how_table(comparison: Comparison) -> list[str]:
    """How each arm's proposals fared with the replayed developer: whether they fail by being too
    long, too short or wrong, which tells what fine-tuning changed."""
    kinds = sorted({k for a in comparison.arms for k in a.how}, key=lambda k: (HOW_ORDER.index(k) if k in HOW_ORDER else 99, k))
    if not kinds:
        return []
    lines = ["How the proposals fared (share of held-out requests; `replay.py`):", "",
             "| outcome | meaning | " + " | ".join(a.arm for a in comparison.arms) + " |",
             "|---|---|" + "---:|" * len(comparison.arms)]
    for kind in kinds:
        cells = [_share(a.how.get(kind, 0) / max(1, sum(a.how.values()))) for a in comparison.arms]
        lines.append(f"| {kind} | {HOW_MEANING.get(kind, '')} | " + " | ".join(cells) + " |")
    return lines + [""]


def _real_copilot_table(comparison: Comparison) -> list[str]:
    arms = [a for a in comparison.arms if a.real_copilot]
    if not arms:
        return []
    n = arms[0].real_copilot["suggestions"]
    lines = [f"Real Copilot telemetry (CUPS study): {n} suggestions real developers accepted, prefix-only prompts; "
             "each arm's proposal for the same prompt (no target):", "",
             "| arm | equals the accepted suggestion | a right start of it | silent |", "|---|---:|---:|---:|"]
    lines += [f"| {a.arm} | {_share(a.real_copilot['exact'])} | {_share(a.real_copilot['right_start'])} | "
              f"{_share(a.real_copilot['silent'])} |" for a in arms]
    return lines + [""]


def _as_json(comparison: Comparison, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "context": context,
        "arms": {
            a.arm: {
                "model": a.model,
                "mlflow_run_id": a.mlflow_run_id,
                "requests": a.scores.requests,
                "overall": {m: asdict(e) for m, e in a.scores.overall.items()},
                "slices": {s: {v: {m: asdict(e) for m, e in ms.items()} for v, ms in vs.items()} for s, vs in a.scores.slices.items()},
                "benchmarks": a.benchmarks,
                "how": a.how,
                "real_copilot": a.real_copilot,
            }
            for a in comparison.arms
        },
        "ratios_to_base": {arm: {m: asdict(e) for m, e in r.items()} for arm, r in comparison.ratios.items()},
        "target": comparison.target,
    }


def _plot(comparison: Comparison, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 4.8))
    arms = comparison.arms
    width = 0.8 / max(1, len(arms))
    for i, arm in enumerate(arms):
        estimates = [arm.scores.overall[m] for m in CHART_METRICS]
        values = [100 * (e.value or 0.0) for e in estimates]
        below = [100 * ((e.value or 0.0) - (e.low if e.low is not None else e.value or 0.0)) for e in estimates]
        above = [100 * ((e.high if e.high is not None else e.value or 0.0) - (e.value or 0.0)) for e in estimates]
        x = [j + (i - (len(arms) - 1) / 2) * width for j in range(len(CHART_METRICS))]
        ax.bar(x, values, width=width, yerr=[below, above], capsize=3, label=arm.arm)
    ax.set_xticks(range(len(CHART_METRICS)), [m.replace("_", "\n") for m in CHART_METRICS])
    ax.set_ylabel("% (95% bootstrap interval)")
    ax.set_title(f"held-out replay, {arms[0].scores.requests if arms else 0} requests per arm")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
