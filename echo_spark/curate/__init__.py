"""Curate stage, pure-Python cores: silver completions (C0, C_N) -> gold fine-tuning samples.

A teacher truncates each commit C_N to the atomic unit that was being written at the trigger
(scope only, never logic); verifiers then keep or drop each gap with a recorded stage and reason
(secrets also redact); dedup, decontamination and proportioning work over whole lists. Those cores
import no Spark: the curate job applies them per batch. `accepted_only` builds the uncurated
baseline table (the evaluation's accepted-only arm) from silver, with Spark, beside the job.
"""
