"""`echo-spark evaluate --promote`: move the registered model's `champion` alias to the
`challenger` version when the challenger wins.

Aliases of `train.registered_model`: `challenger` is set by training on every version it
registers (the candidate); `champion` is the version in production, and only moves here.

The rule: the challenger wins when its acceptance (accepted / shown proposals on the held-out
replay) is above the incumbent's and their 95% bootstrap intervals (`evaluate.confidence`) do not
overlap: the test the target check applies to Echo against base (report.py, `intervals_separate`),
so a promotion is never won on noise. The incumbent is the arm evaluating the champion version
(added as arm `champion` when the alias exists and no arm evaluates it) or, before there is any
champion, the base arm: the first fine-tuned model must beat the model it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from training.mlflow_tracking import CHALLENGER_ALIAS

from ..config import EchoConfig
from ..errors import UsageError
from .models import ResolvedModel, alias_uri, resolve
from .report import BASE, ArmResult

CHAMPION_ALIAS = "champion"


@dataclass(frozen=True)
class Plan:
    candidate: str  # the arm evaluating the challenger version
    incumbent: str  # the arm it has to beat
    model: str  # the registered model
    challenger: str  # its version under @challenger, and under @champion (None: none yet)
    champion: str | None


def _alias(client: Any, model: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(model, alias).version)
    except MlflowException:
        return None


def plan(resolved: dict[str, ResolvedModel], config: EchoConfig, tracking_uri: str) -> tuple[dict[str, ResolvedModel], Plan]:
    """Before any arm runs: which arm is the challenger and which the incumbent; the champion's
    arm is added when no arm evaluates that version. Usage errors say what is missing."""
    from mlflow import MlflowClient

    model = config.train.registered_model
    client = MlflowClient(tracking_uri)
    challenger = _alias(client, model, CHALLENGER_ALIAS)
    if challenger is None:
        raise UsageError(f"--promote: {model} has no @{CHALLENGER_ALIAS} version (training sets it on the version it registers)")

    def evaluating(version: str) -> list[str]:
        return [arm for arm, m in resolved.items() if m.link.name == model and m.link.version == version]

    candidates = evaluating(challenger)
    if not candidates:
        raise UsageError(f"--promote: no arm evaluates {model} version {challenger} (@{CHALLENGER_ALIAS}); "
                         f"add --model {CHALLENGER_ALIAS}=@{CHALLENGER_ALIAS}")
    champion = _alias(client, model, CHAMPION_ALIAS)
    if champion is None:
        if BASE not in resolved:
            raise UsageError(f"--promote: {model} has no @{CHAMPION_ALIAS} yet and there is no {BASE} arm to compare "
                             f"the challenger with")
        return resolved, Plan(candidates[0], BASE, model, challenger, None)
    incumbents = evaluating(champion)
    if incumbents:
        return resolved, Plan(candidates[0], incumbents[0], model, challenger, champion)
    arm = CHAMPION_ALIAS if CHAMPION_ALIAS not in resolved else f"{CHAMPION_ALIAS}-v{champion}"
    added = {**resolved, arm: resolve(alias_uri(CHAMPION_ALIAS, config), config, tracking_uri)}
    return added, Plan(candidates[0], arm, model, challenger, champion)


def decide(chosen: Plan, results: list[ArmResult], tracking_uri: str) -> dict[str, Any]:
    """Apply the rule; move @champion when the challenger wins. Returns what was decided."""
    from mlflow import MlflowClient

    by_arm = {r.arm: r for r in results}
    mine, theirs = by_arm[chosen.candidate].scores.overall["acceptance"], by_arm[chosen.incumbent].scores.overall["acceptance"]
    outcome: dict[str, Any] = {
        "model": chosen.model, "challenger_version": chosen.challenger, "champion_version_before": chosen.champion,
        "candidate_arm": chosen.candidate, "incumbent_arm": chosen.incumbent,
        "candidate_acceptance": [mine.value, mine.low, mine.high], "incumbent_acceptance": [theirs.value, theirs.low, theirs.high],
        "rule": "challenger acceptance above the incumbent's, 95% intervals separate",
    }
    if chosen.champion == chosen.challenger:
        return {**outcome, "promoted": False, "why": "the challenger is already the champion"}
    wins = mine.value is not None and theirs.value is not None and mine.value > theirs.value and not mine.overlaps(theirs)
    if not wins:
        return {**outcome, "promoted": False, "why": "the challenger did not win (lower, or the intervals overlap)"}
    client = MlflowClient(tracking_uri)
    client.set_registered_model_alias(chosen.model, CHAMPION_ALIAS, chosen.challenger)
    run_id = by_arm[chosen.candidate].mlflow_run_id
    if run_id:
        client.set_tag(run_id, "echo.promoted", f"{chosen.model} v{chosen.challenger} -> @{CHAMPION_ALIAS}")
    return {**outcome, "promoted": True, "why": f"the challenger won: @{CHAMPION_ALIAS} -> version {chosen.challenger}"}


def line(outcome: dict[str, Any]) -> str:
    return (f"promotion of {outcome['model']} v{outcome['challenger_version']} ({outcome['candidate_arm']} vs "
            f"{outcome['incumbent_arm']}): {'PROMOTED' if outcome['promoted'] else 'not promoted'}: {outcome['why']}")
