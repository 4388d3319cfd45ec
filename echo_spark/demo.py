"""`echo-spark demo`: the whole loop on the embedded defaults, in one command.

The base model ships in `models/echo-base` (built here only when missing: about 90 minutes on two
cores); simulated developers write real code (the Python standard library) with it as the
completion service in the loop; their telemetry is ingested, every completion is
followed to what the user committed, and the result is curated into the gold training table. Then
three arms from the same base and the same telemetry: the base model itself, accepted-only (trained
on the proposals users accepted whole) and Echo (trained on curated C_N), each evaluated on the
held-out cohort. Each stage prints its progress; the end shows the comparison, the time of each
stage and where the tables, MLflow runs and reports are.

The held-out cohort (files by hash, `simulate.heldout_share`; developers, `heldout_user_share`) is
kept out of every training table by the pipeline's own evaluation holdout (`echo_spark/holdout.py`),
as in production: the simulator lists its held-out developers (OUT/heldout_users.txt), the demo
names that list in `evaluate.holdout_users`, and curate keeps them out of gold and of the
accepted-only table. The simulated cohort takes the place of the hashed share
(`evaluate.holdout_share` is 0 unless the command line sets it). The evaluation replays the cohort
from the simulator's ground truth.

Profiles size the loop (`--profile`): `demo` fits about 20 minutes on two shared cores, `full` is
the larger run. A `--set` given on the command line wins over the profile.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from .config import EchoConfig, apply_overrides, parse_override
from .errors import UsageError

ORACLE, BASE_MODEL = "noisy-oracle", "base-model"


@dataclass(frozen=True)
class Profile:
    """Sizes of one demo run."""

    # Simulated events, and who proposes while they are simulated: the simulator's noisy oracle, or
    # the base model itself (as a production model would; a model proposal per request is slow on CPU).
    events: int
    production: Literal["noisy-oracle", "base-model"]
    # Configuration keys set for the run (train.base.steps, train.max_steps, evaluate.max_requests, ...).
    settings: tuple[str, ...]


PROFILES: dict[str, Profile] = {
    # The shipped base model (train.base.dir) is the production model, as in the paper: it proposes
    # in every session of the training cohort, so accepted-only learns from its own accepted
    # proposals and Echo from what the developers wrote instead. The held-out cohort's sessions keep
    # the oracle: they never reach a training table, and the evaluation proposes afresh with each arm.
    # Half of the developers are held out (on the same held-out files) so that 32k events give the
    # evaluation over 2,000 held-out requests. Fine-tuning and prompts use 256 tokens of context; both
    # prompt in SPM order, in which the base was pretrained half of the time.
    "demo": Profile(
        events=32_000,
        production=BASE_MODEL,
        settings=(
            "simulate.heldout_user_share=0.5",
            "train.fim_order=spm",
            "train.context_length=256",
            "train.max_steps=150",
            "train.learning_rate=0.001",
            "train.checkpoint_every_steps=100",
            "train.eval_every_steps=100",
            "train.eval_max_samples=128",
            "evaluate.max_requests=2000",
            "evaluate.torch_threads=2",
            "evaluate.benchmark_tasks=10",
            "evaluate.benchmark_max_new_tokens=64",
        ),
    ),
    # The same loop on more telemetry: 100k events, both arms fine-tuned for two full epochs, every
    # held-out request replayed.
    "full": Profile(
        events=100_000,
        production=BASE_MODEL,
        settings=(
            "simulate.heldout_user_share=0.5",
            "train.fim_order=spm",
            "train.context_length=256",
            "train.learning_rate=0.001",
            "train.checkpoint_every_steps=200",
            "train.eval_every_steps=200",
            "evaluate.max_requests=0",
            "evaluate.torch_threads=2",
            "evaluate.benchmark_tasks=20",
        ),
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="./out/demo", metavar="DIR", help="simulated telemetry and ground truth (replaced)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="demo", help="sizes of the run (default: demo)")
    parser.add_argument("--events", type=int, metavar="N", help="simulated events (default: the profile's)")


def profiled(config: EchoConfig, profile: Profile, explicit: list[str]) -> EchoConfig:
    """The configuration with the profile's settings, except keys the command line set itself."""
    chosen = {tuple(parse_override(text)[0]) for text in explicit}
    settings = [s for s in profile.settings if tuple(parse_override(s)[0]) not in chosen]
    return EchoConfig.model_validate(apply_overrides(config.model_dump(), settings))


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    from .curate.accepted_only import build_accepted_only
    from .curate.job import curate, summary as curate_summary
    from .engine import get_spark
    from .evaluate.heldout import heldout_users
    from .evaluate.job import evaluate, summary as evaluate_summary, torch_threads
    from .evaluate.models import is_model_folder
    from .ingest.job import ingest, summary as ingest_summary
    from .lakehouse import Lakehouse
    from .lifecycle.job import lifecycle, summary as lifecycle_summary
    from .progress import Summary, print_summary
    from .simulate.cohorts import TRAIN
    from .simulate.job import simulate
    from .tables import COMPLETIONS, CURATION_DROPS, EVENTS, SFT_ACCEPTED_ONLY, SFT_SAMPLES

    profile = PROFILES[args.profile]
    config = profiled(config, profile, list(getattr(args, "overrides", [])))
    out = Path(args.out).expanduser()
    base_dir = Path(config.train.base.dir)
    timings: dict[str, float] = {}
    metrics: dict[str, Any] = {"profile": args.profile}

    def stage(name: str, fn: Callable[..., Any], *fn_args: Any, **fn_kwargs: Any) -> Any:
        print(f"\n=== demo: {name} ===", flush=True)
        start = time.perf_counter()
        # Every model this process runs (the simulator's production model, curate's perplexity
        # scorer in the embedded engine's Python workers, the evaluation) is small: one torch thread.
        with torch_threads(config.evaluate.torch_threads):
            result = fn(*fn_args, **fn_kwargs)
        timings[name] = time.perf_counter() - start
        metrics[name] = result
        return result

    if is_model_folder(base_dir):
        print(f"\n=== demo: base model: present in {base_dir}, not rebuilt ===", flush=True)
    else:
        stage("build base model", _build_base, config)

    events = args.events or profile.events
    sim = config.simulate.model_copy(update={"events": events})
    make_proposer = _production_model(base_dir, config) if profile.production == BASE_MODEL else None
    sim_metrics = stage(f"simulate ({profile.production} proposing)", simulate, sim, config, out,
                        overwrite=True, make_proposer=make_proposer, proposer_cohorts=frozenset({TRAIN}))
    print(f"{sim_metrics['events']:,} events, {sim_metrics['requests']:,} requests in {out / 'landing'}")

    config = _holding_out(config, out, list(getattr(args, "overrides", [])))
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    print_summary(ingest_summary(stage("ingest", ingest, spark, lakehouse, config, str(out / "landing"))))
    print_summary(lifecycle_summary(stage("lifecycle", lifecycle, spark, lakehouse, config)))
    report_dir = Path(config.lakehouse.root) / "reports" / "curate"
    print_summary(curate_summary(stage("curate", curate, spark, lakehouse, config, report_dir=report_dir)))
    accepted = stage("accepted-only table", build_accepted_only, spark, lakehouse, config)
    print(f"{accepted['samples']:,} accepted proposals in {SFT_ACCEPTED_ONLY.name} {accepted['by_split']}")
    _check_no_heldout(lakehouse, heldout_users(out), (SFT_SAMPLES, SFT_ACCEPTED_ONLY))

    trained = {arm: stage(f"train {arm}", _train, config, lakehouse, table.name)
               for arm, table in (("accepted-only", SFT_ACCEPTED_ONLY), ("echo", SFT_SAMPLES))}
    evaluation_config = config.model_copy(update={"evaluate": config.evaluate.model_copy(update={"simulation_dir": str(out)})})
    arms = [("base", str(base_dir))] + [(arm, m["mlflow_run_id"]) for arm, m in trained.items()]
    evaluation = stage("evaluate", evaluate, evaluation_config, arms)

    print()
    print_summary(evaluate_summary(evaluation))
    print_summary(Summary(f"demo ({args.profile} profile): seconds per stage",
                          [(name, f"{seconds:.1f}") for name, seconds in {**timings, "total": sum(timings.values())}.items()]))
    root = Path(config.lakehouse.root).resolve()
    print("tables: " + ", ".join(lakehouse.address(t) for t in (EVENTS, COMPLETIONS, SFT_SAMPLES, SFT_ACCEPTED_ONLY, CURATION_DROPS)))
    print(f"curation report: {report_dir.resolve() / 'report.md'}")
    print(f"evaluation report: {evaluation['report']}")
    print(f"models: base {base_dir.resolve()}, trained arms under {Path(config.train.runs_dir).resolve()}")
    print(f"MLflow: mlflow ui --backend-store-uri {evaluation['mlflow_tracking_uri']}  "
          f"(experiments {config.train.mlflow_experiment!r}, {config.evaluate.mlflow_experiment!r})")
    print(f"query: echo-spark sql --lakehouse {root} \"SELECT outcome, count(*) FROM completions GROUP BY outcome\"")
    return {"stage_seconds": {k: round(v, 1) for k, v in timings.items()},
            **{k: v for k, v in metrics.items() if not k.startswith("simulate")}}


def _build_base(config: EchoConfig) -> dict[str, Any]:
    from dataclasses import asdict

    from .train.base_job import build

    return asdict(build(config, command="echo-spark demo"))


def _production_model(base_dir: Path, config: EchoConfig):
    from training.inference import load_model

    from .evaluate.proposer import ModelProposer

    model = load_model(base_dir, config.train.fim_family, config.train.fim_order, context_length=config.train.context_length)
    return ModelProposer("base", model, config.evaluate.max_new_tokens).for_sessions()


def _holding_out(config: EchoConfig, out: Path, explicit: list[str]) -> EchoConfig:
    """The configuration whose evaluation holdout is the simulation's held-out cohort (the list the
    simulator wrote, with any configured list), instead of a hashed share of the developers unless
    the command line set one."""
    from .holdout import read_user_list, write_user_list
    from .simulate.cohorts import HELDOUT_USERS_FILE

    path = out / HELDOUT_USERS_FILE
    if config.evaluate.holdout_users:
        path = write_user_list(out / "heldout_users_with_configured.txt",
                               read_user_list(path) | read_user_list(config.evaluate.holdout_users),
                               "held-out cohort of the simulation and the configured evaluate.holdout_users")
    update: dict[str, Any] = {"holdout_users": str(path)}
    if not any(parse_override(text)[0] == ["evaluate", "holdout_share"] for text in explicit):
        update["holdout_share"] = 0.0
    return config.model_copy(update={"evaluate": config.evaluate.model_copy(update=update)})


def _check_no_heldout(lakehouse, cohort: list[str], tables) -> None:
    """Curate's evaluation holdout keeps the cohort out of the training tables; checked here, since
    training on it would make the replay measure memory."""
    from pyspark.sql import functions as F

    for table in tables:
        leaked = lakehouse.read(table).filter(F.col("user_id").isin(cohort)).select("user_id").distinct().count()
        if leaked:
            raise UsageError(f"{table.name} holds {leaked} held-out developers: the evaluation holdout "
                             f"(evaluate.holdout_users) did not keep them out")


def _train(config: EchoConfig, lakehouse, table: str) -> dict[str, Any]:
    from training.sft import run_training

    from .gold_source import gold_source
    from .progress import Summary, print_summary

    metrics = run_training(config.train.model_copy(update={"gold_table": table}), gold_source(lakehouse, table))
    print_summary(Summary(f"train summary ({table})", list(metrics.items())))
    return metrics
