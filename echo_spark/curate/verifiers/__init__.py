"""Verifiers: pure functions from one gap (or, for dedup, a list of gaps) to keep or drop(reason).

Each returns a `Verdict` carrying its stage name, so every drop lands in `curation_drops` with the
stage that made it; the secrets verifier also returns the redacted texts.
"""
