"""Evaluation: does a model trained on telemetry propose what developers keep?

Pure cores (no Spark): the held-out cohort read from the simulator's ground truth (`heldout`), a
model as the simulator's proposer (`proposer`), the developer replaying each held-out request
against a candidate's proposal (`replay`), metrics with bootstrap intervals (`metrics`,
`bootstrap`), the FIM benchmarks in a sandbox (`benchmarks`, `sandbox`) and the comparison of
arms (`report`). `job` wires it all; evaluate only reads tables (the accepted-only arm's is curate's,
`curate/accepted_only.py`).
"""
