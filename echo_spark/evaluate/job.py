"""`echo-spark evaluate --model [ARM=]RUN_OR_PATH ...`: arms on the held-out cohort and the FIM benchmarks.

    echo-spark evaluate --model models/echo-base                              # one arm
    echo-spark evaluate --model base=models/echo-base --model echo=sft-v3-1a2b3c4d5e --sim out/demo

Each arm's model proposes for the same held-out requests: those of the users the evaluation
holdout holds out (`evaluate.holdout_*`, `echo_spark/holdout.py`; curate kept them out of every
training table), read from silver `completions`, or from a simulation's ground truth (`--sim`,
`evaluate.simulation_dir`: its held-out cohort, which the holdout must hold out). The replayed
developer reacts (`replay.py`); metrics get bootstrap
intervals over the same resamples for every arm, and the arms are compared (ratios to `base`,
the target check). Each arm is one MLflow run in `evaluate.mlflow_experiment`; the comparison
report goes to `evaluate.report_dir` (default LAKEHOUSE/reports/evaluate) and into every run.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..config import EchoConfig
from ..errors import UsageError
from ..progress import StageClock, Summary, print_summary
from ..curate.verifiers.decontam import benchmarks_folder
from .benchmarks import Task, load_tasks, score_tasks, summarize
from .bootstrap import resample_counts
from ..holdout import Holdout
from .heldout import SILVER_COLUMNS, HeldoutRequest, NoHeldoutCohort, from_silver, heldout_users, load_heldout
from .metrics import Columns, score
from .datasets import HeldoutSource, requests_dataset, tasks_dataset
from .models import ResolvedModel, heldout_in_training, resolve
from . import real_copilot
from .proposer import ModelProposer, shown
from .real_copilot import AcceptedSuggestion
from .replay import Replayed, replay
from .report import ArmResult, compare, comparison_table, target_line, write_report
from .tracking import arm_run, flat_metrics, log_inputs, log_report, log_results

if TYPE_CHECKING:
    from ..lakehouse import Lakehouse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", dest="models", action="append", required=True, metavar="[ARM=]RUN_OR_PATH",
        help="an arm: a model folder, a training run name or MLflow run id, or a runs:/ or models:/ URI (repeatable)",
    )
    parser.add_argument("--sim", metavar="DIR", help="simulation whose held-out cohort is replayed, instead of silver (sets evaluate.simulation_dir)")
    parser.add_argument("--report-dir", metavar="DIR", help="where the comparison report goes (sets evaluate.report_dir)")
    parser.add_argument("--promote", action="store_true",
                        help="move the registered model's @champion alias to the @challenger version when it wins "
                             "(acceptance higher, intervals separate) against the champion's arm, or base before any champion")


def parse_arms(specs: list[str]) -> list[tuple[str, str]]:
    """`ARM=RUN_OR_PATH` or `RUN_OR_PATH` (the arm is then named after the folder or run)."""
    arms = []
    for spec in specs:
        name, sep, target = spec.partition("=")
        if not sep:
            name, target = Path(spec.rstrip("/")).name or spec, spec
        if not name or not target:
            raise UsageError(f"--model {spec!r}: expected ARM=RUN_OR_PATH")
        arms.append((name, target))
    if len({name for name, _ in arms}) != len(arms):
        raise UsageError("--model: two arms with the same name")
    return arms


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    updates = {"simulation_dir": args.sim, "report_dir": args.report_dir}
    config = config.model_copy(update={"evaluate": config.evaluate.model_copy(
        update={k: v for k, v in updates.items() if v is not None})})
    metrics = evaluate(config, parse_arms(args.models), promote=args.promote)
    print_summary(summary(metrics))
    return metrics


def report_dir(config: EchoConfig) -> Path:
    return Path(config.evaluate.report_dir or Path(config.lakehouse.root) / "reports" / "evaluate")


def tracking(config: EchoConfig) -> tuple[str, Path | None]:
    """The training runs' MLflow tracking URI, and where new experiments keep their artifacts."""
    from training.mlflow_store import artifact_root, tracking_uri

    train = config.train
    return tracking_uri(train.mlflow_tracking_uri, train.mlflow_dir), artifact_root(train.mlflow_tracking_uri, train.mlflow_dir)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _progress(label: str, every: int) -> Any:
    def report(done: int, total: int) -> None:
        if done == total or done % every == 0:
            print(f"[evaluate] {label} {done}/{total}", file=sys.stderr, flush=True)

    return report


def evaluate(config: EchoConfig, arms: list[tuple[str, str]], *, promote: bool = False) -> dict[str, Any]:
    """Every arm on the same held-out requests and benchmark tasks; the comparison report; with
    `promote`, the champion alias moved to the challenger if it wins (promotion.py)."""
    from ..lakehouse import Lakehouse

    cfg = config.evaluate
    clock = StageClock("evaluate")
    uri, artifact_root = tracking(config)
    resolved = {name: resolve(target, config, uri) for name, target in arms}
    chosen = None
    if promote:
        from .promotion import plan

        resolved, chosen = plan(resolved, config, uri)
    # Training tables are read by the address their runs recorded; the engine starts only if needed.
    lakehouse = Lakehouse.on_demand(config.engine, config.lakehouse)
    holdout = Holdout.of(cfg)
    with clock.stage("held-out requests"):
        if cfg.simulation_dir:
            requests, cohort, source = _simulated_heldout(config, holdout)
        else:
            requests, cohort, source = _silver_heldout(config, holdout, lakehouse)
    tasks: list[Task] = []
    datasets = [requests_dataset(requests, source)]
    if cfg.benchmarks_enabled:
        folder = benchmarks_folder(config.benchmarks)
        tasks = load_tasks(folder, config.benchmarks.glob, cfg.benchmark_tasks, cfg.seed)
        datasets.append(tasks_dataset(tasks, folder))
    suggestions = _real_copilot(cfg)
    counts = resample_counts([r.doc_id for r in requests], cfg.bootstrap_resamples, cfg.seed)
    comparison_id = uuid.uuid4().hex[:12]
    results: list[ArmResult] = []
    with torch_threads(cfg.torch_threads):
        for name, model in resolved.items():
            # The run is open while the arm is evaluated: its duration is the arm's, and it fails
            # with the arm.
            with arm_run(uri, cfg.mlflow_experiment, artifact_root, name, comparison_id,
                         model.training_run_id, model.link) as run_id:
                log_inputs(uri, run_id, datasets)
                result, rows = _evaluate_arm(config, name, model, requests, tasks, suggestions, counts, clock)
                leaked = heldout_in_training(model, cohort, lakehouse)
                if leaked:
                    print(f"[evaluate] WARNING: {leaked} held-out developers are in {name}'s training table "
                          f"{model.training_table}@v{model.training_version}: its replay measures memory", file=sys.stderr)
                log_results(uri, run_id, _params(config, model, source.label, len(requests), len(tasks)),
                            {**flat_metrics(result.scores, result.benchmarks),
                             **{f"real_copilot.{k}": v for k, v in result.real_copilot.items()},
                             **({"heldout_users_in_training": leaked} if leaked is not None else {})},
                            rows)
            results.append(dataclasses.replace(result, mlflow_run_id=run_id))
    comparison = compare(results, counts, cfg.confidence)
    promotion = None
    if chosen is not None:
        from .promotion import decide

        promotion = decide(chosen, results, uri)
    out = report_dir(config)
    context = {"heldout_source": source.label, "requests": len(requests), "heldout_users": len(cohort),
               "confidence": cfg.confidence, "resamples": cfg.bootstrap_resamples, "comparison_id": comparison_id,
               "benchmark_tasks": len(tasks)}
    with clock.stage("report"):
        path = write_report(comparison, context, out)
        log_report(uri, [r.mlflow_run_id for r in results if r.mlflow_run_id], out)
    return {
        "requests": len(requests),
        "benchmark_tasks": len(tasks),
        "arms": {
            r.arm: {
                "model": r.model,
                "mlflow_run_id": r.mlflow_run_id,
                **{m: e.value for m, e in r.scores.overall.items()},
                **{f"{m}_interval": [e.low, e.high] for m, e in r.scores.overall.items()},
                "benchmarks": r.benchmarks,
                "how": r.how,
                "real_copilot": r.real_copilot,
            }
            for r in results
        },
        "ratios_to_base": {arm: {m: [e.value, e.low, e.high] for m, e in ms.items()} for arm, ms in comparison.ratios.items()},
        "target": comparison.target,
        "table": comparison_table(comparison),
        "target_line": target_line(comparison.target),
        "report": str(path.resolve()),
        "mlflow_tracking_uri": uri,
        "mlflow_experiment": cfg.mlflow_experiment,
        "promotion": promotion,
        "stage_seconds": clock.timings,
    }


def _simulated_heldout(config: EchoConfig, holdout: Holdout) -> tuple[list[HeldoutRequest], list[str], HeldoutSource]:
    """The simulation's held-out cohort: every one of its developers must be held out by the
    policy, or curate trained on them (the simulator lists them in OUT/heldout_users.txt)."""
    from ..simulate.cohorts import HELDOUT_USERS_FILE

    cfg = config.evaluate
    sim_dir = Path(cfg.simulation_dir)
    try:
        requests = load_heldout(sim_dir, max_requests=cfg.max_requests, seed=cfg.seed,
                                bucket_edges=config.curate.length_bucket_edges)
    except NoHeldoutCohort as err:
        raise UsageError(str(err)) from None
    cohort = heldout_users(sim_dir)
    outside = [u for u in cohort if not holdout.holds_out(u)]
    if outside:
        raise UsageError(f"{len(outside)} of the {len(cohort)} developers of the simulation's held-out cohort are not "
                         f"held out by evaluate.holdout_* (curate trains on them): set "
                         f"evaluate.holdout_users={sim_dir / HELDOUT_USERS_FILE} for curate and evaluate")
    return requests, cohort, HeldoutSource(str(sim_dir.resolve()), folder=str(sim_dir.resolve()))


def _silver_heldout(config: EchoConfig, holdout: Holdout, lakehouse: "Lakehouse") -> tuple[list[HeldoutRequest], list[str], HeldoutSource]:
    """The held-out users' requests of silver `completions` with a known C_N: all, or a sample of
    `max_requests` by a seeded hash of the request id (the same for every arm and rerun)."""
    from pyspark.sql import functions as F

    from ..holdout_spark import heldout_users as users_of, only_heldout
    from ..tables import COMPLETIONS

    cfg = config.evaluate
    if not holdout.holds_anyone:
        raise UsageError("evaluate.holdout_share is 0 and evaluate.holdout_users is not set: no held-out user to "
                         "evaluate on (or give --sim)")
    version = lakehouse.version(COMPLETIONS)
    silver = lakehouse.read(COMPLETIONS, version)
    address = lakehouse.address(COMPLETIONS)
    source = HeldoutSource(f"{COMPLETIONS.name}@v{version} ({address})", table=address, version=version)
    known = silver.filter(F.col("committed").isNotNull())
    chosen = only_heldout(known, holdout).select(*SILVER_COLUMNS).orderBy(
        F.sha2(F.concat(F.lit(f"heldout:{cfg.seed}:"), F.col("request_id")), 256))
    if cfg.max_requests:
        chosen = chosen.limit(cfg.max_requests)
    rows = [r.asDict() for r in chosen.collect()]
    if not rows:
        raise UsageError(f"{source.label}: no completion of a held-out user with a known C_N "
                         f"(evaluate.holdout_share={cfg.holdout_share}; curate and lifecycle run first)")
    return from_silver(rows, config.curate.length_bucket_edges), users_of(known, holdout), source


def _real_copilot(cfg) -> list[AcceptedSuggestion]:
    """The real accepted suggestions to replay; none when turned off, or when the default file is
    absent (said on stderr). A configured path that does not exist is a usage error."""
    if not cfg.real_copilot_enabled:
        return []
    path = Path(cfg.real_copilot_path) if cfg.real_copilot_path else real_copilot.default_path()
    if not path.is_file():
        if cfg.real_copilot_path:
            raise UsageError(f"evaluate.real_copilot_path: {path} not found")
        print(f"[evaluate] no real Copilot telemetry at {path.resolve()}: that check is skipped", file=sys.stderr)
        return []
    return real_copilot.read(path)


def _evaluate_arm(config: EchoConfig, name: str, model: ResolvedModel, requests: list[HeldoutRequest],
                  tasks: list[Task], suggestions: list[AcceptedSuggestion], counts: Any,
                  clock: StageClock) -> tuple[ArmResult, list[Replayed]]:
    from training.inference import load_model

    cfg = config.evaluate
    # Prompted as the fine-tuned arms were trained (the base model is pretrained in both orders), in
    # as many tokens as they were trained on.
    fim = load_model(model.path, config.train.fim_family, config.train.fim_order, context_length=config.train.context_length)
    proposer = ModelProposer(name, fim, cfg.max_new_tokens, cfg.batch_size)
    with clock.stage(f"{name}: replay {len(requests)} held-out requests"):
        proposals = proposer.propose_many([r.prefix for r in requests], [r.suffix for r in requests],
                                          _progress(f"{name}: proposed", cfg.batch_size))
        rows = replay(requests, proposals, cfg.accept_edit_similarity)
        scores = score(rows, counts, cfg.confidence)
    benchmarks: dict[str, dict[str, Any]] = {}
    if tasks:
        with clock.stage(f"{name}: {len(tasks)} FIM benchmark tasks"):
            middles = [shown(m) for m in fim.complete_batch([t.prompt for t in tasks], [t.suffix for t in tasks],
                                                            cfg.benchmark_max_new_tokens, cfg.batch_size)]
            benchmarks = summarize(score_tasks(tasks, middles, cfg.pass_at_1, cfg.test_timeout_s,
                                               _progress(f"{name}: benchmark tasks scored", 32)))
    agreement: dict[str, float | int] = {}
    if suggestions:
        with clock.stage(f"{name}: {len(suggestions)} real accepted Copilot suggestions"):
            proposals = proposer.propose_many([s.prefix for s in suggestions], [""] * len(suggestions))
            agreement = real_copilot.agreement(suggestions, proposals)
    how = dict(Counter(r.how for r in rows))
    return ArmResult(name, str(model.path), scores, Columns.of(rows), benchmarks, how=how, real_copilot=agreement), rows


def _params(config: EchoConfig, model: ResolvedModel, source: str, requests: int, tasks: int) -> dict[str, Any]:
    cfg = config.evaluate
    return {
        "model.spec": model.spec,
        "model.path": str(model.path),
        "training.run_id": model.training_run_id,
        "training.table": model.training_table,
        "training.version": model.training_version,
        "heldout.source": source,
        "heldout.requests": requests,
        "benchmark.tasks": tasks,
        **{f"evaluate.{k}": v for k, v in cfg.model_dump(mode="json").items()},
    }


def summary(metrics: dict[str, Any]) -> Summary:
    """The arms' table as the report renders it, then where the report and the runs are."""
    notes = [*metrics["table"], metrics["target_line"]]
    if metrics.get("promotion"):
        from .promotion import line

        notes.append(line(metrics["promotion"]))
    notes += [f"report: {metrics['report']}",
              f"MLflow: experiment {metrics['mlflow_experiment']!r} at {metrics['mlflow_tracking_uri']}"]
    return Summary("evaluate summary", notes=notes)
