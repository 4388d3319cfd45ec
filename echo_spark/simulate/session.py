"""One editor session of one developer: its ids, its client, its random source and what it shares
with the others (the work done in it is `developer.work_session`'s).

Every choice the developer makes comes from one random source seeded by (seed, session index),
so what happens in a session does not depend on the sessions before it (only its start time
does). The session's mode decides only what its client reports (edits, or what a completion
server logs): the developer behaves the same either way, and the ground truth is computed from
the true document in both.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Callable

from ..config import LifecycleConfig, SimulateConfig
from .cohorts import User
from .corpus import CorpusFile
from .events import ClientClock, Emitter
from .faults import Faults
from .ground_truth import TruthWriter
from .policy import Policy
from .proposer import Proposer
from .writer import ClientUploader

EDITS, REQUESTS = "edits", "requests"
# UTC offsets of the fleet's clients, in minutes.
UTC_OFFSETS = (0, 0, 60, 120, -300, -420, 330, 540, -180)


@dataclass
class Budget:
    limit: int
    events: int = 0

    @property
    def exhausted(self) -> bool:
        return self.events >= self.limit


@dataclass
class Tally:
    """Counts of each behaviour and of the chances it had: measured rates for the job's metrics."""

    sessions: int = 0
    documents: int = 0
    abandon_chosen: int = 0
    abandoned: int = 0  # chosen, and reached before the document was done or the budget ran out
    tokens: int = 0
    pauses: int = 0
    trigger_points: int = 0
    triggered: int = 0
    requests: int = 0
    words: int = 0
    typos: int = 0
    void_chances: int = 0  # requests not at a typo, with void_trigger_rate > 0
    voids: int = 0
    lines: int = 0
    saves: int = 0
    jumps: int = 0
    accepts: int = 0
    undos: int = 0
    edit_sessions: int = 0


@dataclass
class SimContext:
    """What every session shares."""

    config: SimulateConfig
    lifecycle: LifecycleConfig
    files: dict[str, list[CorpusFile]]  # by cohort
    namespace: uuid.UUID
    truth: TruthWriter
    budget: Budget
    make_proposer: Callable[[random.Random, str], Proposer]  # (session's random source, cohort)
    tally: Tally = field(default_factory=Tally)


class Session:
    def __init__(
        self, ctx: SimContext, index: int, user: User, start_s: float, uploader: ClientUploader, faults: Faults
    ) -> None:
        cfg = ctx.config
        self.ctx = ctx
        self.config = cfg
        self.user = user
        self.rng = random.Random(f"{cfg.seed}/session/{index}")
        self.policy = Policy(cfg, self.rng)
        self.proposer = ctx.make_proposer(self.rng, user.cohort)
        if cfg.mode == "both":
            # A source of its own: the developer does the same whichever mode is configured.
            draw = random.Random(f"{cfg.seed}/mode/{index}").random()
            self.mode = EDITS if draw < cfg.edits_session_share else REQUESTS
        else:
            self.mode = cfg.mode
        # Edit telemetry only, each from a source of its own, so that server-log sessions stay as
        # they were: the developer's editor auto-closes brackets (a habit of the developer: their
        # settings), and the client reports changes as snapshot diffs (a habit of the client).
        habits = cfg.habits
        self.auto_close = self.edits and random.Random(f"{cfg.seed}/auto_close/{user.user_id}").random() < habits.auto_close
        self.snapshot_diff = self.edits and random.Random(f"{cfg.seed}/snapshot_diff/{index}").random() < habits.snapshot_diff
        self.session_id = "s-" + uuid.uuid5(ctx.namespace, f"session/{index}").hex[:16]
        clock = ClientClock(faults.clock_skew_s(), self.rng.random() < cfg.epoch_ms_share, self.rng.choice(UTC_OFFSETS))
        self._uploader = uploader
        self.emitter = Emitter(ctx.namespace, self.session_id, user.user_id, clock, self._deliver)
        self.t = start_s
        self.requests = 0

    @property
    def edits(self) -> bool:
        return self.mode == EDITS

    def _deliver(self, line: bytes, true_s: float) -> None:
        self.ctx.budget.events += 1
        self._uploader.add(line, true_s)

    def upload(self) -> None:
        """Hand the client's last batch to landing: the session is over."""
        self._uploader.upload()
