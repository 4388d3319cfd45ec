"""The model adapter plugs into the simulator, and the held-out cohort is read back from its truth."""

import pyarrow.parquet as pq
import pytest

from echo_spark.evaluate.heldout import NoHeldoutCohort, heldout_users, load_heldout

EDGES = [16, 64, 256, 1024]


def test_the_model_proposes_for_every_request_and_blank_proposals_are_silence(sim):
    out, model = sim
    truth = pq.read_table(out / "ground_truth.parquet").to_pylist()
    assert model.calls == len(truth) > 0
    assert {r["proposer"] for r in truth} == {"last-word"}
    assert all(r["proposal_kind"] is None for r in truth)
    after_colon = [r for r in truth if r["prefix"].rstrip().endswith(":")]
    assert after_colon and all(r["proposal"] == "" and r["reaction"] == "none" for r in after_colon)


def test_the_heldout_cohort_and_its_targets(sim):
    out, _ = sim
    truth = pq.read_table(out / "ground_truth.parquet").to_pylist()
    heldout = [r for r in truth if r["cohort"] == "heldout"]
    requests = load_heldout(out, max_requests=0, seed=7, bucket_edges=EDGES)
    assert {r.request_id for r in requests} == {r["request_id"] for r in heldout}
    assert set(heldout_users(out)) == {r["user_id"] for r in heldout} and heldout_users(out)
    committed = {r["request_id"]: r["true_committed"] for r in heldout}
    documents = {r["request_id"]: r["doc_id"] for r in heldout}
    for request in requests:
        assert request.doc_id == documents[request.request_id]
        assert request.committed == committed[request.request_id]
        assert committed[request.request_id].startswith(request.target)  # the teacher only cuts
        assert (request.length_bucket == "void") == (request.target == "")


def test_a_seeded_sample_is_the_same_whatever_the_order(sim):
    out, _ = sim
    first = [r.request_id for r in load_heldout(out, max_requests=5, seed=7, bucket_edges=EDGES)]
    assert len(first) == 5 and first == [r.request_id for r in load_heldout(out, max_requests=5, seed=7, bucket_edges=EDGES)]
    assert first != [r.request_id for r in load_heldout(out, max_requests=5, seed=8, bucket_edges=EDGES)]


def test_no_ground_truth_is_a_clear_error(tmp_path):
    with pytest.raises(NoHeldoutCohort, match="no simulator ground truth"):
        load_heldout(tmp_path, max_requests=0, seed=7, bucket_edges=EDGES)
