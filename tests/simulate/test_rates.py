"""Each behaviour shows at its configured rate (within 5 percentage points, on enough chances).

Short documents give many documents (for the per-document rates) in a small run; the rates are
set away from their defaults so that a knob wired to the wrong behaviour shows.
"""

from __future__ import annotations

from collections import Counter

import pytest

from echo_spark.config import ProposalKinds, Reactions, SimulateConfig, apply_overrides
from echo_spark.simulate.policy import REACTIONS
from echo_spark.simulate.proposer import KINDS

from .helpers import simulate, truth

TOLERANCE = 0.05
RATES = {
    "typo_rate": 0.12,
    "undo_rate": 0.25,
    "cursor_jump_rate": 0.08,
    "save_rate": 0.15,
    "abandon_rate": 0.3,
    "pause_rate": 0.05,
    "trigger_request_rate": 0.7,
}
DISTRIBUTIONS = [
    "proposal.right=0.3", "proposal.partial=0.1", "proposal.wrong=0.3", "proposal.overrun=0.2", "proposal.empty=0.1",
    "reaction.accept=0.3", "reaction.accept_partial=0.15", "reaction.accept_edit=0.15", "reaction.reject=0.1",
    "reaction.ignore=0.3",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rates")
    overrides = [f"{k}={v}" for k, v in RATES.items()] + DISTRIBUTIONS + ["region_max_lines=8", "write_max_lines=10"]
    metrics = simulate(out, 20_000, seed=3, overrides=overrides)
    requests, documents = truth(out)
    config = SimulateConfig.model_validate(apply_overrides({}, overrides))
    return metrics, requests, documents, config


def test_the_distributions_are_over_the_outcomes_the_ground_truth_names():
    assert tuple(ProposalKinds.model_fields) == KINDS and tuple(Reactions.model_fields) == REACTIONS


@pytest.mark.parametrize("rate", sorted(RATES))
def test_noise_rates(run, rate):
    metrics, _, _, _ = run
    assert metrics["measured"][rate] == pytest.approx(RATES[rate], abs=TOLERANCE)


def test_enough_chances_to_judge(run):
    _, requests, documents, _ = run
    assert len(documents) >= 300 and len(requests) >= 2000


def test_proposal_kinds_follow_the_oracle_rates(run):
    _, requests, _, config = run
    counts = Counter(r["proposal_kind"] for r in requests)
    for kind in KINDS:
        assert counts[kind] / len(requests) == pytest.approx(dict(config.proposal)[kind], abs=TOLERANCE), kind


def test_reactions_follow_the_policy_rates(run):
    _, requests, _, config = run
    # At a typo the developer fixes the word and never takes the proposal (see the simulator's README).
    shown = [r for r in requests if r["proposal"] and r["trigger_point"] != "typo"]
    counts = Counter(r["reaction"] for r in shown)
    for reaction in REACTIONS:
        assert counts[reaction] / len(shown) == pytest.approx(dict(config.reaction)[reaction], abs=TOLERANCE), reaction
    accepted = [r for r in shown if r["accepted_text"] is not None]
    assert sum(r["undone"] for r in accepted) / len(accepted) == pytest.approx(RATES["undo_rate"], abs=TOLERANCE)


def test_every_behaviour_and_end_of_a_gap_occurs(run):
    _, requests, documents, _ = run
    behaviours = Counter(b for r in requests for b in r["behaviours"])
    assert {"typo", "undo", "pause", "cursor_jump", "save", "abandon"} <= behaviours.keys()
    assert {"rename", "cut_tail", "change_argument"} <= {r["edit_kind"] for r in requests}
    assert {"anchor_broken", "left_region", "doc_closed", "session_end"} <= {r["finalize_reason"] for r in requests}
    assert {"done", "abandoned"} <= {d["outcome"] for d in documents}
    assert any(r["true_committed"] == "" for r in requests)  # void: silence was right
