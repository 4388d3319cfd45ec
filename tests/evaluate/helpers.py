"""Replayed rows made to order, for the metric and report tests."""

from echo_spark.evaluate.replay import ACCEPTED, PARTIAL, REJECTED, SILENT, Replayed


def row(outcome: str, *, void_target: bool = False, trigger: str = "dot", bucket: str = "<=16", saved: int = 0,
        intended: int = 10, exact: bool = False, similarity: float = 0.0, i: int = 0) -> Replayed:
    return Replayed(f"r{i}", "python", trigger, bucket, "" if outcome == SILENT else "x", outcome, outcome, saved,
                    intended, exact, similarity, void_target)


def arm_rows(accepted: int, partial: int, rejected: int, silent: int) -> list[Replayed]:
    """Rows in a fixed order of outcomes, so two arms line up request by request."""
    outcomes = [ACCEPTED] * accepted + [PARTIAL] * partial + [REJECTED] * rejected + [SILENT] * silent
    return [row(o, i=i, exact=o == ACCEPTED, similarity=1.0 if o == ACCEPTED else 0.3,
                saved=10 if o == ACCEPTED else 3 if o == PARTIAL else 0) for i, o in enumerate(outcomes)]
