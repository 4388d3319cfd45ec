"""`echo-spark simulate --events N --out DIR`: telemetry landing files plus their ground truth.

    OUT/landing/<day>/<client>/<client>-<n>.jsonl.gz   telemetry v1, as a fleet of clients uploads it
    OUT/ground_truth.parquet                           one row per completion request
    OUT/ground_truth_documents.parquet                 one row per document (initial and final text)
    OUT/heldout_users.txt                              the held-out developers (evaluate.holdout_users)

Sessions run one after another, each developer's sessions in sequence on their own clock, until
N events were produced (the session then running is cut short: its developer quits).
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from pydantic import ValidationError

from ..config import EchoConfig, SimulateConfig
from ..errors import UsageError
from ..holdout import write_user_list
from ..progress import Summary, print_summary
from .cohorts import HELDOUT, HELDOUT_USERS_FILE, User, make_users
from .corpus import scan
from .developer import work_session
from .events import run_namespace
from .faults import Faults
from .ground_truth import DOCUMENTS_FILE, REQUESTS_FILE, TruthWriter
from .proposer import NoisyOracle, Proposer
from .session import Budget, Session, SimContext
from .writer import LANDING_DIR, ClientUploader, LandingWriter

# Hours between two sessions of one developer.
_SESSION_GAP_H = (1.0, 20.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder: landing/ and the ground truth")
    parser.add_argument("--events", type=int, metavar="N", help="events to simulate (sets simulate.events)")
    parser.add_argument("--seed", type=int, help="seed of every random choice (sets simulate.seed)")
    parser.add_argument(
        "--corpus",
        metavar="PATH_OR_GLOB",
        help="source files to write: a folder or a glob (default: the Python standard library)",
    )
    parser.add_argument("--mode", choices=["edits", "requests", "both"], help="what the clients report (sets simulate.mode)")
    parser.add_argument("--users", type=int, metavar="N", help="simulated developers (sets simulate.users)")
    parser.add_argument("--overwrite", action="store_true", help="replace the output of an earlier simulation in DIR")


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    options = {key: getattr(args, key, None) for key in ("events", "seed", "corpus", "mode", "users")}
    overrides = {key: value for key, value in options.items() if value is not None}
    try:
        sim = SimulateConfig.model_validate({**config.simulate.model_dump(), **overrides})
    except ValidationError as err:
        first = err.errors()[0]
        raise UsageError(f"--{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    metrics = simulate(sim, config, Path(args.out).expanduser(), overwrite=getattr(args, "overwrite", False))
    print_summary(Summary("simulate summary", notes=[
        f"simulate: {metrics['events']} events ({metrics['sessions']} sessions, {metrics['requests']} requests) "
        f"in {metrics['landing_files']} landing files, {metrics['elapsed_s']:.1f} s "
        f"({metrics['events_per_s']:.0f} events/s)"]))
    return metrics


def check_rates(sim: SimulateConfig) -> None:
    for what, distribution in (("proposal", sim.proposal), ("reaction", sim.reaction)):
        total = sum(dict(distribution).values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise UsageError(f"simulate.{what}: the probabilities must add up to 1 (they add up to {total:g})")
    if sim.region_min_lines > sim.region_max_lines:
        raise UsageError("simulate.region_min_lines is above simulate.region_max_lines")
    try:
        start = datetime.fromisoformat(sim.start_time)
    except ValueError:
        raise UsageError(f"simulate.start_time {sim.start_time!r}: not an RFC 3339 time") from None
    if start.tzinfo is None:
        raise UsageError(f"simulate.start_time {sim.start_time!r}: give a UTC offset")


def _prepare(out: Path, overwrite: bool) -> None:
    produced = [out / LANDING_DIR, out / REQUESTS_FILE, out / DOCUMENTS_FILE, out / HELDOUT_USERS_FILE]
    if any(p.exists() for p in produced):
        if not overwrite:
            raise UsageError(f"--out {out} holds an earlier simulation (pass --overwrite to replace it)")
        shutil.rmtree(out / LANDING_DIR, ignore_errors=True)
        for path in produced[1:]:
            path.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def simulate(
    sim: SimulateConfig,
    config: EchoConfig,
    out: Path,
    overwrite: bool = False,
    make_proposer: Callable[[random.Random], Proposer] | None = None,
    proposer_cohorts: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Run the simulation into `out`. `make_proposer` builds each session's proposer from the
    session's random source (default: the noisy oracle); a trained model plugs in here, for the
    sessions of `proposer_cohorts` only when given (the others keep the oracle)."""
    check_rates(sim)
    files = scan(sim.corpus, sim.corpus_max_files, sim.max_file_bytes, sim.heldout_share)
    by_cohort: dict[str, list] = {}
    for file in files:
        by_cohort.setdefault(file.cohort, []).append(file)
    user_share = sim.heldout_share if sim.heldout_user_share is None else sim.heldout_user_share
    users = [u for u in make_users(sim.users, user_share, sim.seed) if u.cohort in by_cohort]
    if not users:
        raise UsageError("no simulated developer has a file of their cohort: widen --corpus or change heldout_share")
    _prepare(out, overwrite)
    # The held-out cohort, for the evaluation holdout to keep out of training (evaluate.holdout_users).
    write_user_list(out / HELDOUT_USERS_FILE, [u.user_id for u in users if u.cohort == HELDOUT],
                    "held-out developers of this simulation: set evaluate.holdout_users to this file for curate and evaluate")
    began = time.perf_counter()
    landing = LandingWriter(out)
    truth = TruthWriter(out)
    ctx = SimContext(
        config=sim,
        lifecycle=config.lifecycle,
        files=by_cohort,
        namespace=run_namespace(sim.seed),
        truth=truth,
        budget=Budget(sim.events),
        make_proposer=_per_cohort(sim, make_proposer, proposer_cohorts),
    )
    uploaders = {
        u.user_id: ClientUploader(
            u.user_id, landing, Faults(sim, random.Random(f"{sim.seed}/faults/{u.user_id}")), sim.upload_batch_events
        )
        for u in users
    }
    clocks = {u.user_id: datetime.fromisoformat(sim.start_time).timestamp() for u in users}
    index = 0
    while not ctx.budget.exhausted:
        user = users[index % len(users)]
        uploader = uploaders[user.user_id]
        session = Session(ctx, index, user, clocks[user.user_id], uploader, uploader.faults)
        clocks[user.user_id] = work_session(session) + random.Random(f"{sim.seed}/gap/{index}").uniform(*_SESSION_GAP_H) * 3600
        index += 1
    for user_id in sorted(uploaders):
        uploaders[user_id].finish()
    truth.close()
    elapsed = time.perf_counter() - began
    return _metrics(ctx, landing, truth, elapsed, len(files), users)


def _per_cohort(
    sim: SimulateConfig, make_proposer: Callable[[random.Random], Proposer] | None, cohorts: frozenset[str] | None
) -> Callable[[random.Random, str], Proposer]:
    def oracle(rng: random.Random) -> Proposer:
        return NoisyOracle(sim, rng)

    chosen = make_proposer or oracle
    return lambda rng, cohort: chosen(rng) if cohorts is None or cohort in cohorts else oracle(rng)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _metrics(
    ctx: SimContext, landing: LandingWriter, truth: TruthWriter, elapsed: float, files: int, users: list[User]
) -> dict[str, Any]:
    tally, stats = ctx.tally, landing.stats
    return {
        "events": ctx.budget.events,
        "events_per_s": round(ctx.budget.events / elapsed, 1) if elapsed > 0 else None,
        "elapsed_s": round(elapsed, 2),
        "corpus_files": files,
        "users": len(users),
        "heldout_users": sum(u.cohort == HELDOUT for u in users),
        "sessions": tally.sessions,
        "edit_sessions": tally.edit_sessions,
        "documents": tally.documents,
        "requests": truth.requests.rows,
        "landing_files": stats.files,
        "landing_lines": stats.lines,
        "landing_bytes": stats.bytes,
        "duplicated_events": stats.duplicated,
        "delayed_events": stats.delayed,
        "truncated_files": stats.truncated_files,
        # Measured rate of each behaviour over its chances, to compare with the configuration.
        "measured": {
            "typo_rate": _share(tally.typos, tally.words),
            "pause_rate": _share(tally.pauses, tally.tokens),
            "trigger_request_rate": _share(tally.triggered, tally.trigger_points),
            "void_trigger_rate": _share(tally.voids, tally.void_chances),
            "undo_rate": _share(tally.undos, tally.accepts),
            "cursor_jump_rate": _share(tally.jumps, tally.lines),
            "save_rate": _share(tally.saves, tally.lines),
            "abandon_rate": _share(tally.abandon_chosen, tally.documents),
        },
    }
