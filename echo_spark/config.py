"""The one typed place for every knob.

`conf/echo.yaml` is generated from these models (`python -m echo_spark.config_yaml`: the defaults,
commented with the fields' descriptions; a test fails when the two drift). A job reads that file
(or `--conf FILE`), then applies `--set section.key=value` overrides, and validation here turns any
unknown key or bad value into a usage error instead of a surprise mid-job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


DEFAULT_SEED = 7
# Marks a stage's seed field: EchoConfig fills it from its top-level `seed` unless the stage's own
# was set, and conf/echo.yaml lists only the top-level one.
DERIVED_SEED: dict[str, Any] = {"derived_from": "seed"}


def stage_seed(description: str) -> Any:
    """A stage's seed field: the top-level `seed` unless set for this stage (`--set curate.seed=N`)."""
    return Field(default=DEFAULT_SEED, description=description, json_schema_extra=DERIVED_SEED)


class EngineConfig(Section):
    kind: Literal["sail", "spark-connect", "spark-local", "cluster"] = Field(
        default="sail",
        description="sail: the embedded Sail server (Spark Connect, the default); spark-connect: a Spark Connect "
                    "server at `remote`; spark-local: classic local JVM Spark; cluster: the session of the cluster the "
                    "job runs on (a Databricks job cluster or serverless, spark-submit), with its own Delta support.")
    remote: str | None = Field(
        default=None,
        description="sc://host:port for kind=spark-connect; SPARK_REMOTE is used when this is empty.")
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description="Extra Spark configuration, applied to the session (spark-local: also at JVM start, where Delta "
                    "needs spark.jars and the Delta extension here).")
    sail_parallelism: int = Field(
        default=0, ge=0,
        description="Default parallelism of the embedded Sail server (0: Sail's own default, one per core).")
    sail_memory_gb: float = Field(
        default=0, ge=0,
        description="Memory the embedded Sail server's sorts, aggregates and joins share before they spill to disk, in "
                    "GB (0: unbounded, Sail's default). For ingest of a large backlog only: Sail 0.7's grouped UDFs "
                    "reserve absurd sizes from a bounded pool, so lifecycle fails under one.")
    udf_processes: int | None = Field(
        default=None, ge=0,
        description="Worker processes that run the jobs' Python UDF bodies (tracker, per-gap curation). null: one per "
                    "core on sail, which runs UDFs in its own process under one GIL; 0 elsewhere, where Spark gives "
                    "every task its own Python worker process. 0 = run them inline.")

    @property
    def udf_workers(self) -> int:
        """Worker processes for UDF bodies (`udf_pool`): `udf_processes`, or by default one per core on
        the embedded Sail engine (in-process UDFs) and none elsewhere (the engine has its own workers)."""
        if self.udf_processes is not None:
            return self.udf_processes
        return (os.cpu_count() or 1) if self.kind == "sail" else 0


class LakehouseConfig(Section):
    root: str = Field(
        default="./lakehouse",
        description="Local root: one Delta folder per table (events/, quarantine/, completions/, ...). Ignored when "
                    "`catalog` is set.")
    catalog: str | None = Field(
        default=None,
        description="Unity Catalog addressing instead of folders: tables become catalog.schema_name.table.")
    schema_name: str | None = None
    upsert_keys_max: int = Field(
        default=20_000, ge=0,
        description="An upsert (silver's completions and orphans, curate's verdicts) deletes the rows it "
                    "replaces by their keys and appends; past this many replaced rows (a full re-run) it "
                    "rebuilds the table in one overwrite (not a MERGE, which Sail runs holding the whole table "
                    "in memory). Also the most keys curate picks silver's rows to verify by (a semi join with "
                    "them; past it, an anti-join).")


class IngestConfig(Section):
    file_patterns: list[str] = Field(
        default_factory=lambda: ["*.jsonl", "*.jsonl.gz"],
        description="File name patterns taken from a landing folder.")
    max_json_depth: int = Field(
        default=64, ge=2,
        description="JSON nested deeper than this is quarantined as too_deep (protects the parser and the table).")
    min_ts: str = Field(
        default="2000-01-01T00:00:00Z",
        description="Events stamped before this instant are quarantined as ts_out_of_range.")
    max_future_skew_hours: float = Field(
        default=24 * 7, ge=0,
        description="Events stamped later than ingestion time plus this many hours are quarantined as ts_out_of_range.")
    bytes_per_pass: int = Field(
        default=128 * 2**20, ge=1,
        description="New landing files are ingested in passes of about this many bytes as stored (in path order, a "
                    "file never split): the embedded engine holds a pass's lines in memory while it counts first "
                    "deliveries (README, Ingest).")


class LifecycleConfig(Section):
    anchor_chars: int = Field(
        default=32, ge=1,
        description="Characters of the static anchors: the tail of the prefix (P1) and the head of the suffix (S1).")
    anchor_max_chars: int = Field(
        default=256, ge=1,
        description="An anchor that is not unique in the known text grows up to this many characters.")
    left_region_s: float = Field(
        default=30.0, gt=0,
        description="The gap is committed once the cursor has stayed outside its region this many seconds (Copilot "
                    "captures at 30 s).")
    max_lifetime_s: float = Field(
        default=600.0, gt=0,
        description="... and at the latest this many seconds after the request (the last Copilot/Cody check is at 10 "
                    "min).")
    anchor_repair_s: float = Field(
        default=30.0, ge=0,
        description="Edit mode: an anchor edited and restored within this many seconds (an undo, a character deleted "
                    "and retyped) stays intact; one still altered after it broke when it was first edited.")
    burst_pause_s: float | None = Field(
        default=2.0, gt=0,
        description="Edit mode: where a burst of typing in the gap ends (telemetry/gap_ends.py). Enter after the typed "
                    "line lands at the end of the gap, so without a rule every later line flows into it; a gap that "
                    "holds typed text and ends with a line break, then stays unchanged this many seconds (a new line "
                    "started after a pause), ends its burst: C_N is that text without the line break. null: no rule "
                    "(the gap runs on).")
    window_silence_s: float = Field(
        default=45.0, gt=0,
        description="Server logs: back in a gap after this many seconds with no request in the document since the logs "
                    "last put the cursor there (request, accept, a window holding it), the developer was elsewhere: "
                    "C_N is the gap last seen (`left_region`). Longer than left_region_s, since a developer typing "
                    "with few requests can go that long unseen (README, Lifecycle).")
    no_suffix_max_gap_chars: int = Field(
        default=500, ge=0,
        description="A request with no suffix anchor (at the very end of the document, or logged without a suffix) has "
                    "its gap bounded, as Copilot's fallback does: at most this many characters past P1 (Copilot: 500),")
    no_suffix_line_factor: int = Field(
        default=2, ge=1,
        description="... and fewer line breaks than this many times the lines of the proposal (Copilot's: twice the "
                    "block). The simulator's ground truth uses the same bound.")
    events_per_pass: int = Field(
        default=1_000_000, ge=1,
        description="Sessions are tracked in passes of about this many bronze events (sessions split by hash): the "
                    "embedded engine holds a pass's groups in memory (README, Lifecycle: Speed).")


def _probability(default: float, description: str) -> Any:
    return Field(default=default, ge=0, le=1, description=description)


class Distribution(Section):
    """One field per outcome, the outcomes excluding each other (the simulator checks that they add
    up to 1). `dict(distribution)` is the outcome -> probability mapping a draw takes, in field
    order; the field names are the outcomes' names in the ground truth."""


class ProposalKinds(Distribution):
    """What the proposer (default: a noisy oracle that knows the code to come) proposes, per request:
    one of these, with these probabilities (adding up to 1)."""

    right: float = _probability(0.35, "The atomic unit.")
    partial: float = _probability(0.15, "Its start, then wrong code.")
    wrong: float = _probability(0.2, "Other code of the file.")
    overrun: float = _probability(0.1, "The unit, then past it (more lines, or a repeat of the suffix).")
    empty: float = _probability(0.2, "Silence.")


class Reactions(Distribution):
    """The policy: what the developer does with a non-empty proposal shown, one of these, with these
    probabilities (adding up to 1)."""

    accept: float = _probability(0.22, "Accept it whole.")
    accept_partial: float = _probability(0.06, "Accept its next word or line (partial_by_line_share).")
    accept_edit: float = _probability(0.07, "Accept it, then edit it (rename, cut the tail, change an argument).")
    reject: float = _probability(0.25, "Reject it (Esc) and type the real code.")
    ignore: float = _probability(0.4, "Ignore it (type over it).")


class EditorHabits(Section):
    """Edit-telemetry sessions only: what the simulated editor does to typing and how its client
    reports changes, so that the edit tracker meets what real keystroke logs show (issue 19).
    Server-log sessions have neither habit, which keeps their output as it was. No published
    telemetry gives these shares (see simulate/README.md): they are choices."""

    auto_close: float = _probability(
        0.7,
        "Per developer: their editor auto-closes brackets and quotes (VS Code's and JetBrains' default): typing an "
        "opener inserts its closer after the caret, and typing that closer types over it (a cursor move, no change).")
    snapshot_diff: float = _probability(
        0.3,
        "Per session: the client reports each change as the diff of consecutive document snapshots (common prefix and "
        "suffix removed, as the TaskTracker file), so an insertion where text repeats lands at its rightmost position "
        "(Enter after a line, just before a line break, lands inside it); the rest report LSP changes.")


class SimulateConfig(Section):
    """`echo-spark simulate`: developers writing real code with a completion service in the loop.

    Each `*_rate` is a probability per the unit its comment names; `proposal` and `reaction` are
    distributions (each adds up to 1, checked by the job).
    """

    seed: int = stage_seed("Seed of every random choice of the simulator: same seed, byte-identical output.")
    events: int = Field(
        default=100_000, ge=1,
        description="Events to simulate (the last session is cut short there); --events overrides.")
    mode: Literal["edits", "requests", "both"] = Field(
        default="both",
        description="edits: client edit telemetry; requests: server request logs only; both: sessions of each kind.")
    edits_session_share: float = Field(
        default=0.5, ge=0, le=1,
        description="mode both: share of sessions whose client reports edits (the rest log requests only).")
    corpus: str | None = Field(
        default=None,
        description="Folder or glob of source files; null = this Python's standard library.")
    corpus_max_files: int = Field(
        default=2000, ge=1,
        description="Files kept from the corpus (those with the smallest path hash): bounds memory whatever its size.")
    max_file_bytes: int = Field(default=60_000, ge=100, description="Files larger than this many bytes are not used.")
    users: int = Field(
        default=40, ge=1,
        description="Simulated developers; a share of them (and of the files, by path hash) form the held-out cohort.")
    heldout_share: float = Field(default=0.2, ge=0, le=1)
    heldout_user_share: float | None = Field(
        default=None, ge=0, le=1,
        description="Share of the developers in the held-out cohort when it differs from the files' share (null = "
                    "heldout_share): more held-out developers give an evaluation more requests without moving a file "
                    "across cohorts (the base model was pretrained knowing which files are held out).")
    start_time: str = Field(
        default="2026-03-02T09:00:00Z",
        description="The first session starts here (client clocks count from it).")
    docs_per_session: int = Field(default=3, ge=1, description="Documents worked on per session, at most.")
    insert_share: float = Field(
        default=0.7, ge=0, le=1,
        description="Per document: share where the developer fills a region inside an existing file (the rest is "
                    "written top to bottom from an empty file). No published telemetry gives this mix (see "
                    "../shared/docs/prior-art.md and simulate/README.md): 0.7 is a choice, most requests with a real "
                    "suffix (FIM) while end-of-file gaps, which have none, stay common.")
    region_min_lines: int = Field(
        default=3, ge=1,
        description="Lines of the region filled in (insert) and of the file written (top to bottom).")
    region_max_lines: int = Field(default=40, ge=1)
    write_max_lines: int = Field(default=120, ge=1)
    non_ascii_rate: float = Field(
        default=0.3, ge=0, le=1,
        description="Per document: a line of non-ASCII text (accents, CJK, an emoji) is added to the code to type.")
    typing_chars_per_s: float = Field(default=6.0, gt=0, description="Typing speed, characters per second.")
    trigger_request_rate: float = Field(
        default=0.5, ge=0, le=1,
        description="Per trigger point (line start, after ( . = :, a typo): the developer pauses long enough for the "
                    "plugin to send a request (otherwise typing goes on and the plugin's debounce drops it).")
    void_trigger_rate: float = Field(
        default=0.0, ge=0, le=1,
        description="Per request not at a typo (a typo's request is always void): the developer wants no completion "
                    "there (void); they dismiss what is shown and go elsewhere past lifecycle.left_region_s, so C_N "
                    "and intended_unit are empty. No published telemetry gives this share (see "
                    "../shared/docs/prior-art.md and simulate/README.md): 0 keeps voids to typo triggers, as before.")
    pause_rate: float = Field(
        default=0.02, ge=0, le=1,
        description="Per typed token: a thinking pause (mean pause_mean_s seconds), after which a request is sent.")
    pause_mean_s: float = Field(default=4.0, gt=0)
    prefix_window_chars: int = Field(
        default=1024, ge=0,
        description="Characters of the prefix and suffix windows sent with a request (the rest is cut off).")
    suffix_window_chars: int = Field(default=256, ge=0)
    proposal: ProposalKinds = Field(default_factory=ProposalKinds)
    reaction: Reactions = Field(default_factory=Reactions)
    habits: EditorHabits = Field(default_factory=EditorHabits)
    partial_by_line_share: float = Field(
        default=0.4, ge=0, le=1,
        description="Per partial accept: by line (the rest: by word).")
    typo_rate: float = Field(
        default=0.03, ge=0, le=1,
        description="Per typed word (an identifier or keyword of 3+ characters): mistyped, then corrected.")
    undo_rate: float = Field(
        default=0.08, ge=0, le=1,
        description="Per accept of any kind: undone right after (the developer then types the code).")
    cursor_jump_rate: float = Field(
        default=0.03, ge=0, le=1,
        description="Per typed line: the cursor jumps elsewhere in the file (mean jump_away_mean_s seconds there, "
                    "leaving a small note there for jump_edit_share of the jumps) and comes back.")
    jump_away_mean_s: float = Field(default=30.0, gt=0)
    jump_edit_share: float = Field(default=0.5, ge=0, le=1)
    save_rate: float = Field(default=0.05, ge=0, le=1, description="Per typed line: the document is saved.")
    abandon_rate: float = Field(
        default=0.1, ge=0, le=1,
        description="Per document: abandoned part way (closed unsaved); the others are saved and closed when done.")
    duplicate_rate: float = Field(
        default=0.01, ge=0, le=1,
        description="Transport faults. Per event: delivered twice (same or next upload); held back to the client's "
                    "upload after next (out of order across files).")
    delay_rate: float = Field(default=0.01, ge=0, le=1)
    clock_skew_rate: float = Field(
        default=0.1, ge=0, le=1,
        description="Per session: the client clock is off by up to clock_skew_max_s seconds either way.")
    clock_skew_max_s: float = Field(default=3600.0, ge=0)
    truncate_rate: float = Field(
        default=0.05, ge=0, le=1,
        description="Per landing file: the upload was cut inside its last line (the client sends that event again).")
    epoch_ms_share: float = Field(
        default=0.5, ge=0, le=1,
        description="Per session: the client stamps `ts` as epoch milliseconds (the rest: RFC 3339 with an offset).")
    upload_batch_events: int = Field(
        default=2000, ge=1,
        description="A client uploads a landing file every this many events, and at the end of each session.")


class CurateConfig(Section):
    seed: int = stage_seed("Seed of sampling, splits and dedup's MinHash permutations.")
    teacher: Literal["syntax", "llm"] = Field(
        default="syntax",
        description="Teacher that truncates C_N to the atomic unit: syntax (tree-sitter / Python's parser) or llm.")
    llm_base_url: str | None = Field(
        default=None,
        description='LLM teacher: base URL of an OpenAI-compatible API (".../v1"; vLLM, Databricks Model Serving, '
                    "...).")
    llm_model: str = ""
    llm_api_key_env: str = Field(
        default="ECHO_LLM_API_KEY",
        description="Environment variable holding the endpoint's bearer token (never put the token itself in "
                    "configuration).")
    llm_timeout_s: float = Field(default=30.0, gt=0, description="Seconds per LLM request.")
    llm_max_retries: int = Field(
        default=3, ge=0,
        description="Retries after a timeout, a connection error, 429 or 5xx; the wait doubles from llm_backoff_s "
                    "seconds.")
    llm_backoff_s: float = Field(default=1.0, ge=0)
    llm_concurrency: int = Field(default=4, ge=1, description="Requests in flight at once, per process.")
    llm_max_tokens: int = Field(default=1024, ge=1)
    llm_context_chars: int = Field(
        default=2000, ge=0,
        description="Characters of prefix (before the cursor) and suffix (after the gap) shown to the LLM.")
    llm_cache_dir: str = Field(
        default="./cache/llm_teacher",
        description="Responses cached by the hash of their request, so a rerun costs no request.")
    boundary_min_chars: int = Field(
        default=8, ge=1,
        description="Boundary: C_N repeating this many non-space characters of the suffix's start (or the prefix's "
                    "end) is the fill-in-the-middle duplication.")
    certainty_open_gap: Literal["keep", "same_unit", "drop"] = Field(
        default="same_unit",
        description="Server logs (silver's uncertainty columns; edit telemetry rows always pass): a gap still open at "
                    "its last sighting is kept (keep), dropped (drop), or kept only when the teacher's unit was "
                    "already the same at the sighting before (same_unit).")
    certainty_max_silence_s: float | None = Field(
        default=None, gt=0,
        description="... dropped when the longest silence between log events that could show the gap is longer "
                    "(seconds; null: never).")
    certainty_drop_anchor_choices: list[str] = Field(
        default_factory=list,
        description="... dropped when the prefix anchor's occurrence was chosen this way (e.g. first, "
                    "last_before_cursor).")
    identifier_strictness: Literal["off", "lenient", "strict"] = Field(
        default="lenient",
        description="Identifier consistency of C_N against its context: off | lenient | strict.")
    identifier_max_unknown_ratio: float = Field(
        default=0.25, ge=0, le=1,
        description="Lenient: share of the distinct names used in C_N that may be unknown to the context.")
    secrets_min_score: float = Field(
        default=0.5, ge=0, le=1,
        description="PII and secrets: findings scoring below this are ignored.")
    secrets_min_entropy: float = Field(
        default=3.0, ge=0,
        description='Generic `api_key = "..."` assignments count as secrets above this Shannon entropy (bits per '
                    "character).")
    dedup_threshold: float = Field(
        default=0.85, gt=0, le=1,
        description="Near-duplicates: MinHash Jaccard threshold over token shingles of the gap's window.")
    dedup_num_perm: int = Field(default=128, ge=16)
    dedup_shingle_tokens: int = Field(default=5, ge=1)
    dedup_context_chars: int = Field(
        default=512, ge=0,
        description="Characters of prefix before and suffix after the gap that make up its dedup window.")
    decontam_ngram: int = Field(
        default=13, ge=3,
        description="Decontamination: a gap sharing one token n-gram of this length with a benchmark or held-out "
                    "sample is dropped.")
    length_bucket_edges: list[int] = Field(
        default_factory=lambda: [16, 64, 256, 1024], min_length=1,
        description="Proportioning: ascending upper bounds (characters) of the C_N length buckets; void is a bucket of "
                    "its own.")
    target_length_shares: dict[str, float] = Field(
        default_factory=dict,
        description='Target shares per length bucket (keys "<=16", "<=64", "<=256", "<=1024", ">1024" for the default '
                    "edges) and per language; empty: as observed.")
    target_language_shares: dict[str, float] = Field(default_factory=dict)
    target_void_share: float | None = Field(
        default=None, ge=0, le=1,
        description="Target share of void samples (silence is the right answer); null: as observed.")
    max_samples: int | None = Field(
        default=None, ge=1,
        description="Largest gold table; null: as large as the targets allow.")
    validation_share: float = Field(
        default=0.1, ge=0, lt=1,
        description="Share of users (by hash of user_id) whose samples form the validation split.")
    perplexity_model: str | None = Field(
        default=None,
        description="Perplexity of C_N given C0: a local Hugging Face checkpoint; null = the tiny base model "
                    "(train.base.dir) when it has been built, otherwise the stage is skipped and says so.")
    perplexity_enabled: bool = True
    perplexity_low_quantile: float = Field(
        default=0.01, ge=0, le=1,
        description="Samples below the low or above the high quantile of perplexity are dropped as outliers.")
    perplexity_high_quantile: float = Field(default=0.99, ge=0, le=1)
    perplexity_batch_size: int = Field(default=16, ge=1)
    perplexity_context_tokens: int = Field(
        default=256, ge=16,
        description="Tokens of context a sample is scored in (prefix and suffix cut from their far ends): the cost of "
                    "the stage grows with it, and the middle's likelihood depends mostly on the nearest context.")
    mlflow_experiment: str | None = Field(
        default=None,
        description="Log each run (counts per stage and reason, the report files) as an MLflow run in this experiment, "
                    "on the tracking store of `train` (mlflow_tracking_uri / mlflow_dir); null: off.")


class ImportConfig(Section):
    continue_reject_after_s: float = Field(
        default=10.0, gt=0,
        description="Continue logs a completion not accepted within this many seconds as rejected.")
    session_gap_minutes: float = Field(
        default=30.0, gt=0,
        description="A user's events further apart than this many minutes start a new session (the imported logs have "
                    "none).")


class CollectorConfig(Section):
    host: str = Field(
        default="127.0.0.1",
        description="Bind address of `echo-spark collect`; loopback by default (put a TLS proxy in front to take "
                    "uploads from other hosts).")
    port: int = Field(
        default=8787, ge=0, le=65535,
        description="Port of `echo-spark collect` (0 = any free port, printed at start).")
    token: SecretStr | None = Field(
        default=None,
        description="Shared bearer token (Authorization: Bearer TOKEN); when empty, read from the environment variable "
                    "named by token_env, which is preferred: a token here is a secret printed as stars with the "
                    "effective configuration, never logged, but it sits in the configuration file.")
    token_env: str = Field(
        default="ECHO_COLLECTOR_TOKEN",
        description="Environment variable read for the token when `token` is empty.")
    max_body_bytes: int = Field(
        default=8 << 20, ge=1024,
        description="Largest request body accepted, before and after gzip decoding (413 above it): 8 MiB.")
    rotate_bytes: int = Field(
        default=64 << 20, ge=1,
        description="A landing file is closed (renamed .jsonl.open -> .jsonl) once this big (64 MiB) ...")
    rotate_seconds: float = Field(default=300.0, gt=0, description="... or this many seconds old.")


class PrivacyConfig(Section):
    opt_out_list: str | None = Field(
        default=None,
        description="Opted-out users or sessions never get past bronze: a text file of user_id or session_id values "
                    "(one per line, # comments) that opted out, and/or the event field below.")
    opt_out_field: str = Field(
        default="opt_out",
        description="An event field that, when true on any event of a session, opts the whole session out.")


class AnnealConfig(Section):
    steps: int = Field(
        default=2200, ge=0,
        description="Steps of the second phase, with its peak learning rate and warm-up steps (0 steps = no second "
                    "phase).")
    learning_rate: float = Field(default=1e-3, gt=0)
    warmup_steps: int = Field(default=50, ge=1)
    unit_rate: float = Field(
        default=0.7, ge=0, le=1,
        description="Share of FIM examples whose middle is the unit at the cursor (the rest as in the first phase).")


class BaseModelConfig(Section):
    dir: str = Field(
        default="./models/echo-base",
        description="Where `echo-spark build-base-model` writes the base model (and `train`, curate's scorer and the "
                    "demo's production model read it). The shipped one is in the repository; the tests build a tiny "
                    "one.")
    work_dir: str | None = Field(
        default=None,
        description="Checkpoints of a build in progress (a rerun of the same command resumes from the newest); null = "
                    'beside dir, "<dir>.building". Kept out of git: only the finished model is committed.')
    sources: list[Literal["stdlib", "third-party"]] = Field(
        default_factory=lambda: ["stdlib", "third-party"], min_length=1,
        description="Where pretraining text comes from, in this order: stdlib (this Python's standard library, minus "
                    "every file the simulator can hold out and any near-copy of one) and third-party (the installed "
                    "packages' Python sources). A folder in `corpus` replaces both.")
    corpus: str | None = None
    corpus_chars: int = Field(
        default=80_000_000, ge=10_000,
        description="Characters of source text taken (files in path-hash order until this is reached).")
    max_file_bytes: int = Field(
        default=200_000, ge=1_000,
        description="Files larger than this are skipped (data tables, generated code), as are vendored copies.")
    near_duplicate_threshold: float = Field(
        default=0.5, gt=0, le=1,
        description="A file sharing at least this Jaccard similarity (pairs of lines) with a held-out file is skipped.")
    vocab_size: int = Field(default=4096, ge=300, description="Byte-level BPE vocabulary, FIM special tokens included.")
    layers: int = Field(
        default=4, ge=1,
        description="Llama-style decoder: layers, width, attention heads, longest example in tokens.")
    hidden: int = Field(default=192, ge=16)
    heads: int = Field(default=4, ge=1)
    context_length: int = Field(default=512, ge=32)
    steps: int = Field(
        default=2400, ge=1,
        description="Pretraining: optimizer steps, examples per step, peak learning rate, warm-up steps.")
    batch_size: int = Field(default=8, ge=1)
    learning_rate: float = Field(default=2e-3, gt=0)
    warmup_steps: int = Field(default=200, ge=1)
    eval_every_steps: int = Field(
        default=250, ge=1,
        description="Validation (bits per character on held-out files) and checkpoint every this many steps.")
    validation_files: int = Field(
        default=40, ge=1,
        description="Held-out files read for validation, per source (the simulator's held-out standard library files, "
                    "and third-party files kept out of training).")
    threads: int | None = Field(
        default=1, ge=1,
        description="Torch CPU threads of the build (one process); null = torch's default (every core). On a machine "
                    "whose cores other work shares, one thread is faster: OpenMP threads wait on each other.")
    fim_rate: float = Field(
        default=0.9, ge=0, le=1,
        description="Share of pretraining examples turned into FIM (the rest stay left-to-right), and of those in SPM "
                    "order.")
    spm_rate: float = Field(default=0.5, ge=0, le=1)
    void_rate: float = Field(
        default=0.1, ge=0, le=1,
        description="Share of FIM examples with an empty middle (teaches silence).")
    seed: int = stage_seed("Seed of the base model's initialisation, document order and FIM transformations.")
    anneal: AnnealConfig = Field(
        default_factory=AnnealConfig,
        description="A second pretraining phase after `steps`, on documents the first phase did not reach, with a "
                    "fresh warm-up and a lower peak: most FIM middles are the atomic unit at the cursor "
                    "(echo_spark/units.py) instead of a random run of lines, so the base learns where a completion "
                    "ends (a base that runs past the unit is never accepted). `--pretrained DIR` takes the first phase "
                    "from a finished build.")


class TrainConfig(Section):
    gold_table: str = Field(
        default="sft_samples",
        description="Gold table: a table of the lakehouse by name (its folder under lakehouse.root, or "
                    "catalog.schema.name when lakehouse.catalog is set: read by Spark at the pinned version), or the "
                    "path/URI of a Delta table.")
    gold_version: int | None = Field(
        default=None, ge=0,
        description="Delta version to train on; null = the latest when the run starts (the version used is logged).")
    base_model: str | None = Field(
        default=None,
        description="Local Hugging Face checkpoint folder to fine-tune (full or LoRA); null = the base model in "
                    "base.dir.")
    base: BaseModelConfig = Field(
        default_factory=BaseModelConfig,
        description="The base model, built locally with no download by `echo-spark build-base-model` (shipped in "
                    "models/).")
    fim_family: Literal["auto", "echo", "starcoder", "qwen2.5-coder", "deepseek-coder"] = Field(
        default="auto",
        description="FIM special tokens: auto (recognised in the tokenizer) | echo | starcoder | qwen2.5-coder | "
                    "deepseek-coder.")
    fim_order: Literal["psm", "spm"] = Field(
        default="psm",
        description="psm (prefix, suffix, middle) | spm (suffix, prefix, middle).")
    context_length: int = Field(
        default=128, ge=16,
        description="Longest training example in tokens; prefix and suffix are cut from their far ends to fit. At most "
                    "the base model's context (max_position_embeddings).")
    finetune: Literal["full", "lora"] = Field(
        default="full",
        description="full (every weight) | lora (peft adapters on lora_target_modules, merged into the logged model).")
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.05, ge=0, lt=1)
    lora_target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    epochs: int = Field(default=2, ge=1, description="Passes over the training split; max_steps > 0 stops earlier.")
    max_steps: int = Field(default=0, ge=0)
    batch_size: int = Field(default=8, ge=1, description="Samples per worker per optimizer step.")
    learning_rate: float = Field(default=5e-4, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_steps: int = Field(default=10, ge=0)
    grad_clip: float = Field(default=1.0, ge=0, description="Gradient norm clip (0 = off).")
    seed: int = stage_seed("Seed of initialisation, data order and dropout: same seed, same run (resumed or not).")
    bucket_batches: int = Field(
        default=16, ge=1,
        description="Length bucketing: samples are sorted by length within windows of this many global batches.")
    eval_max_samples: int = Field(
        default=512, ge=0,
        description="Validation samples evaluated (the first by sample_id hash; 0 = all).")
    ray_address: str | None = Field(
        default=None,
        description='Ray: null = start a local Ray with ray_num_cpus (null = every core); "auto" = the running cluster '
                    "(Ray on Spark on Databricks, `ray start`).")
    ray_num_cpus: int | None = Field(default=None, ge=1)
    num_workers: int = Field(
        default=2, ge=1,
        description="Training workers: count, GPU each (NCCL, bf16) or CPU (gloo), CPUs reserved per worker.")
    use_gpu: bool = False
    cpus_per_worker: float = Field(default=1.0, gt=0)
    strategy: Literal["ddp", "fsdp"] = Field(
        default="ddp",
        description="ddp | fsdp (shards parameters, gradients and optimizer state across GPU workers).")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        description="auto = bf16 autocast on GPU, fp32 on CPU.")
    max_failures: int = Field(
        default=1, ge=0,
        description="Worker failures recovered from the last checkpoint within one run.")
    fail_at_step: int | None = Field(
        default=None, ge=1,
        description="Drill: workers crash once at this step (exercises checkpoint and resume); null = never.")
    checkpoint_every_steps: int = Field(
        default=40, ge=1,
        description="Every this many steps: a checkpoint (the newest keep_checkpoints are kept), a validation loss, a "
                    "progress line.")
    keep_checkpoints: int = Field(default=2, ge=1)
    eval_every_steps: int = Field(default=40, ge=1)
    log_every_steps: int = Field(default=5, ge=1)
    runs_dir: str = Field(
        default="./runs",
        description="Ray Train storage: checkpoints and the final model under runs_dir/<run name>.")
    run_name: str | None = Field(
        default=None,
        description="Run name; rerunning with the same name resumes from its last checkpoint. null = derived from the "
                    "gold table version and this section (the same command resumes).")
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="MLflow: tracking URI (null = sqlite:///<mlflow_dir>/mlflow.db, artifacts in "
                    "<mlflow_dir>/artifacts). Compare runs: mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db")
    mlflow_dir: str = "./mlruns"
    mlflow_experiment: str = "echo-fim-sft"
    registered_model: str = Field(
        default="echo-fim",
        description="The final model is registered under this name (a new version per run).")
    system_metrics: bool = Field(
        default=True,
        description="CPU, memory (and GPU) usage of the driver logged as system/* metrics.")


class EvaluateConfig(Section):
    """`echo-spark evaluate`: held-out replay through the simulated user, and the FIM benchmarks."""

    holdout_share: float = Field(
        default=0.1, ge=0, lt=1,
        description="The evaluation holdout, pipeline policy (echo_spark/holdout.py): a user is held out when a hash "
                    "of (the seed, user_id) falls under holdout_share, or when listed in the holdout_users file "
                    "(one id per line, # comments; `echo-spark simulate` writes its held-out cohort to "
                    "OUT/heldout_users.txt). Curate keeps held-out users out of every training table (gold and the "
                    "accepted-only table); evaluate replays their requests. Change none of these between curate and "
                    "evaluate, or the evaluation meets users a model trained on.")
    holdout_seed: int = stage_seed("Seed of the holdout's hash of user ids.")
    holdout_users: str | None = None
    simulation_dir: str | None = Field(
        default=None,
        description="Where the held-out requests come from: null = silver `completions` of the held-out users (C_N cut "
                    "to its unit is both the target and what the replayed developer meant); a folder = a simulation's "
                    "ground truth (its held-out cohort, which the policy must hold out); --sim sets it.")
    max_requests: int = Field(
        default=600, ge=0,
        description="Held-out requests replayed per arm: a seeded sample, the same for every arm (0 = all).")
    seed: int = stage_seed("Seed of the samples of held-out requests and benchmark tasks, and of the bootstrap.")
    max_new_tokens: int = Field(default=32, ge=1, description="Longest proposal, in tokens, for a held-out request.")
    batch_size: int = Field(
        default=64, ge=1,
        description="Requests generated together (left-padded): on a CPU, generation time is mostly per step, not per "
                    "request, so large batches are several times faster.")
    accept_edit_similarity: float = Field(
        default=0.8, gt=0, le=1,
        description="The replayed developer accepts a proposal (and fixes it) when it is at least this similar to the "
                    "unit they meant to write (normalized Indel similarity, 0..1); below, they take only a right first "
                    "line or word of it, or reject it.")
    bootstrap_resamples: int = Field(
        default=1000, ge=100,
        description="Bootstrap resamples of the requests for the confidence intervals, and the interval's level.")
    confidence: float = Field(default=0.95, gt=0, lt=1)
    torch_threads: int = Field(
        default=1, ge=1,
        description="Threads of torch while generating: a small model on a shared CPU is fastest on one (more threads "
                    "spin waiting for cores that other processes hold).")
    benchmarks_enabled: bool = Field(
        default=True,
        description="FIM benchmarks (the `benchmarks` section's files): whether they are scored, and tasks per file (a "
                    "seeded sample, the same for every arm; 0 = all).")
    benchmark_tasks: int = Field(default=40, ge=0)
    benchmark_max_new_tokens: int = Field(default=128, ge=1, description="Longest benchmark middle, in tokens.")
    real_copilot_enabled: bool = Field(
        default=True,
        description="Real Copilot suggestions that real developers accepted (telemetry v1, prefix-only prompts): each "
                    "arm proposes for the same prompts, compared with the accepted text. Null path = the CUPS study's "
                    "file, ../shared/data/real/cups-copilot-telemetry.jsonl.gz next to the repository (skipped, and "
                    "said, when it is not there).")
    real_copilot_path: str | None = None
    pass_at_1: bool = Field(
        default=True,
        description="pass@1: each completed program runs its tests in a subprocess, killed after this many seconds.")
    test_timeout_s: float = Field(default=5.0, gt=0)
    mlflow_experiment: str = Field(
        default="echo-evaluate",
        description="MLflow experiment of the evaluation runs (one run per arm; tracking URI as train.*).")
    report_dir: str | None = Field(
        default=None,
        description="Comparison report (markdown, JSON, PNG); null = LAKEHOUSE/reports/evaluate.")


class BenchmarksConfig(Section):
    dir: str | None = Field(
        default=None,
        description="The FIM benchmarks (JSON Lines: task_id, prompt, suffix, canonical_solution, test, entry_point), "
                    "one setting for both readers: curate's decontamination drops a gap sharing an n-gram with them, "
                    "evaluate scores the arms on them. null = ../shared/data/benchmarks next to a source checkout; an "
                    "installed wheel (a cluster) has none, so set it there (the bundle points it at its Volume).")
    glob: str = "he_*.jsonl.gz"


class EchoConfig(Section):
    seed: int = Field(
        default=DEFAULT_SEED,
        description="The one seed of a run: every stage takes it as its own (simulate.seed, curate.seed, "
                    "train.base.seed, train.seed, evaluate.seed, evaluate.holdout_seed), so one number reproduces the "
                    "whole loop. Taken as is, not offset per stage: the stages draw different things (a simulated "
                    "session, the holdout's hash of user ids, the validation split, training's data order), the hashes "
                    "salted with their purpose, and every figure measured when each stage had a seed of its own (all "
                    "7) stays reproducible. A stage's seed set on its own (`--set curate.seed=N`, `simulate --seed N`) "
                    "overrides this one for that stage alone.")
    engine: EngineConfig = Field(default_factory=EngineConfig)
    lakehouse: LakehouseConfig = Field(default_factory=LakehouseConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    simulate: SimulateConfig = Field(default_factory=SimulateConfig)
    curate: CurateConfig = Field(default_factory=CurateConfig)
    benchmarks: BenchmarksConfig = Field(default_factory=BenchmarksConfig)
    importers: ImportConfig = Field(default_factory=ImportConfig)
    collector: CollectorConfig = Field(default_factory=CollectorConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)

    @model_validator(mode="after")
    def _derive_stage_seeds(self) -> EchoConfig:
        for name in type(self).model_fields:
            section = getattr(self, name)
            if isinstance(section, Section):
                # Straight into __dict__: an assignment would validate the whole model again.
                self.__dict__[name] = _with_seed(section, self.seed)
        return self


def _with_seed(section: Section, seed: int) -> Section:
    """The section with `seed` in every stage seed of it (nested sections too) not set on its own;
    a copy, since the section may be the caller's object."""
    updates: dict[str, Any] = {}
    for name, field in type(section).model_fields.items():
        value = getattr(section, name)
        if isinstance(value, Section):
            if (derived := _with_seed(value, seed)) is not value:
                updates[name] = derived
        elif field.json_schema_extra == DERIVED_SEED and name not in section.model_fields_set and value != seed:
            updates[name] = seed
    return section.model_copy(update=updates) if updates else section


DEFAULT_CONF_FILE = Path("conf") / "echo.yaml"
# The configuration file when --conf is not given (before conf/echo.yaml).
CONF_FILE_ENV = "ECHO_CONF"
# An environment variable ECHO__SECTION__KEY=value sets a knob as `--set section.key=value` does
# (names upper-case, nested sections joined by "__": ECHO__TRAIN__BASE__DIR), after the YAML file and
# before --set. The bundle says what every task shares once, in its clusters' spark_env_vars.
ENV_PREFIX = "ECHO__"


class ConfigError(ValueError):
    """A configuration the user must fix; the CLI turns it into exit code 2."""


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b=value` -> (["a", "b"], value), the value typed as YAML types it (32 -> int)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects section.key=value, got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {text!r}: {part!r} is not a section")
            node = child
        node[path[-1]] = value
    return data


def env_overrides(environ: Mapping[str, str]) -> list[str]:
    """`section.key=value` for every ECHO__SECTION__KEY variable, in name order."""
    return [".".join(name[len(ENV_PREFIX):].lower().split("__")) + "=" + value
            for name, value in sorted(environ.items()) if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX)]


def load_config(conf_file: str | Path | None = None, overrides: list[str] | None = None,
                environ: Mapping[str, str] | None = None) -> EchoConfig:
    """Defaults <- YAML file (--conf, else $ECHO_CONF, else conf/echo.yaml) <- ECHO__* environment
    variables <- --set overrides, validated as a whole. `environ`: os.environ when None."""
    environ = os.environ if environ is None else environ
    conf_file = conf_file or environ.get(CONF_FILE_ENV) or None
    overrides = env_overrides(environ) + list(overrides or [])
    data: dict[str, Any] = {}
    path = Path(conf_file) if conf_file else (DEFAULT_CONF_FILE if DEFAULT_CONF_FILE.is_file() else None)
    if conf_file and not Path(conf_file).is_file():
        raise ConfigError(f"configuration file not found: {conf_file}")
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML ({err.__class__.__name__})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of sections")
        data = loaded
    apply_overrides(data, overrides or [])
    try:
        return EchoConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"configuration {where}: {first['msg']}") from None


def dump_config(config: EchoConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
