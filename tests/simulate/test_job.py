"""The job's contract: its options, a corpus of one's own, and usage errors for bad input."""

from __future__ import annotations

import argparse

import pytest

from echo_spark.errors import UsageError
from echo_spark.simulate.corpus import scan
from echo_spark.config import load_config
from echo_spark.simulate.job import add_arguments
from echo_spark.simulate.job import simulate as simulate_job

from .helpers import read_landing, simulate, truth


def test_options_parse():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--out", "o", "--events", "10", "--seed", "3", "--mode", "edits", "--corpus", "src/**/*.py"])
    assert (args.events, args.seed, args.mode, args.corpus) == (10, 3, "edits", "src/**/*.py")


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    for i in range(12):
        (root / "pkg" / f"mod{i}.py").write_text(
            "".join(f"def f{j}(x):\n    if x > {j}:\n        return x.real + {j}\n    return g(x, {j})\n\n" for j in range(6)),
            encoding="utf-8",
        )
    (root / "web.js").write_text("function f(a) {\n  if (a) {\n    return a.b(1);\n  }\n  return 0;\n}\n" * 5)
    (root / "notes.txt").write_text("not code\n")
    return root


def test_folder_and_glob_corpora(corpus, tmp_path):
    assert len(scan(str(corpus), 100, 60_000, 0.2)) == 13
    kept = scan(str(corpus), 5, 60_000, 0.2)
    assert len(kept) == 5 and kept == scan(str(corpus), 100, 60_000, 0.2)[:5]  # bounded, order-independent
    assert {f.language for f in scan(f"{corpus}/**/*.js", 100, 60_000, 0.2)} == {"javascript"}
    simulate(tmp_path / "out", 3_000, corpus=str(corpus), mode="edits", users=4)
    requests, documents = truth(tmp_path / "out")
    assert {d["file"] for d in documents} <= {f.rel_path for f in scan(str(corpus), 100, 60_000, 0.2)}
    assert {r["mode"] for r in requests} == {"edits"}
    assert read_landing(tmp_path / "out").events


@pytest.mark.parametrize("overrides,options,match", [
    (["proposal.right=0.9"], {}, "proposal: the probabilities must add up to 1"),
    (["region_min_lines=50"], {}, "region_min_lines"),
    (["start_time=yesterday"], {}, "start_time"),
    ([], {"corpus": "/no/such/folder"}, "not a folder"),
    ([], {"users": 0}, "users"),
])
def test_bad_input_is_a_usage_error(tmp_path, overrides, options, match):
    with pytest.raises(UsageError, match=match):
        simulate(tmp_path / "out", 100, overrides=overrides, **options)


def test_an_earlier_output_is_replaced_only_when_asked(tmp_path):
    simulate(tmp_path, 500)
    with pytest.raises(UsageError, match="--overwrite"):
        simulate(tmp_path, 500)
    simulate(tmp_path, 500, overwrite=True)


class _EchoSuffix:
    """A stand-in model: proposes the suffix's first line (a classic FIM mistake)."""

    name = "echo-suffix"

    def propose(self, prefix: str, suffix: str, language: str) -> str:
        return suffix.split("\n", 1)[0]


def test_a_model_plugs_in_as_the_proposer(tmp_path):
    config = load_config(None)
    sim = config.simulate.model_copy(update={"events": 2_000})
    simulate_job(sim, config, tmp_path, make_proposer=lambda rng: _EchoSuffix())
    requests, _ = truth(tmp_path)
    assert requests and {(r["proposer"], r["proposal_kind"]) for r in requests} == {("echo-suffix", None)}
    shown = [e for e in read_landing(tmp_path).events.values() if e["type"] == "completion_shown"]
    assert {e["model"] for e in shown} == {"echo-suffix"}
    assert all(r["proposal"] == r["suffix"].split("\n", 1)[0] for r in requests)


def test_a_model_proposes_for_the_chosen_cohort_only_and_more_developers_can_be_held_out(tmp_path):
    """The demo's production model proposes for the training cohort; held-out sessions keep the
    oracle (the evaluation proposes afresh for them). A larger share of held-out developers leaves
    every file in its cohort."""
    config = load_config(None)
    sim = config.simulate.model_copy(update={"events": 4_000, "users": 10, "heldout_user_share": 0.5})
    simulate_job(sim, config, tmp_path, make_proposer=lambda rng: _EchoSuffix(), proposer_cohorts=frozenset({"train"}))
    requests, documents = truth(tmp_path)
    proposers = {}
    for r in requests:
        proposers.setdefault(r["cohort"], set()).add(r["proposer"])
    assert proposers["train"] == {"echo-suffix"}
    assert "echo-suffix" not in proposers["heldout"] and proposers["heldout"]
    heldout_users = {r["user_id"] for r in requests if r["cohort"] == "heldout"}
    assert len(heldout_users) == 5
    from echo_spark.simulate.cohorts import cohort_of

    assert all(cohort_of(d["file"], sim.heldout_share) == d["cohort"] for d in documents)
