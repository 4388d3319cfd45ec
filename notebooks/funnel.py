# Databricks notebook source
# MAGIC %md
# MAGIC # From completion requests to gold samples
# MAGIC
# MAGIC How many completion requests become fill-in-the-middle training samples, and where and why the
# MAGIC others go: bronze `events` (requests received), silver `completions` (requests followed to
# MAGIC what the user committed), then each curation stage in order, recorded in gold
# MAGIC `curation_drops`, down to gold `sft_samples`. Requests in bronze that never reach silver are
# MAGIC those of opted-out users or sessions, and requests whose id repeats in a session.

# COMMAND ----------

import matplotlib.pyplot as plt
import pandas as pd
from lakehouse_session import open_session

echo = open_session(globals())

# The order in which a completion meets the curation stages (echo_spark/curate/pipeline.py).
CURATION_STAGES = ("holdout", "input", "teacher", "certainty", "boundary", "syntax", "identifiers", "secrets", "decontam", "dedup", "perplexity", "proportion")

# COMMAND ----------

counts = echo.query(
    """
    SELECT (SELECT count(DISTINCT session_id, request_id) FROM events WHERE type = 'completion_request') AS requested,
           (SELECT count(*) FROM completions) AS tracked,
           (SELECT count(*) FROM sft_samples) AS gold
    """
).iloc[0]
drops = echo.query(
    """
    SELECT stage, reason, count(*) AS completions
    FROM curation_drops
    GROUP BY stage, reason
    ORDER BY completions DESC, stage, reason
    """
)
unknown = set(drops["stage"]) - set(CURATION_STAGES)
if unknown:
    raise ValueError(f"curation stages {sorted(unknown)} are not in CURATION_STAGES: add them in their order")
drops["share_of_tracked"] = drops["completions"] / counts["tracked"]
echo.show_table(drops, "curation_drops_by_reason")

# COMMAND ----------

# MAGIC %md
# MAGIC ## The funnel
# MAGIC
# MAGIC What remains after each step. Every tracked completion is either a gold sample or a drop, so
# MAGIC the last step equals the gold table; the notebook stops if it does not.

# COMMAND ----------

dropped_per_stage = drops.groupby("stage")["completions"].sum()
steps = [("requested", int(counts["requested"])), ("tracked in silver", int(counts["tracked"]))]
for stage in CURATION_STAGES:
    steps.append((f"after {stage}", steps[-1][1] - int(dropped_per_stage.get(stage, 0))))
funnel = pd.DataFrame(steps, columns=["step", "completions"])
funnel["share_of_requested"] = funnel["completions"] / funnel["completions"].iloc[0]
if funnel["completions"].iloc[-1] != counts["gold"]:
    raise ValueError(f"the funnel ends at {funnel['completions'].iloc[-1]:,} but gold has {counts['gold']:,} samples")
echo.show_table(funnel, "funnel")

# COMMAND ----------

figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
left.barh(funnel["step"], funnel["completions"], color="tab:blue")
for y, (n, share) in enumerate(zip(funnel["completions"], funnel["share_of_requested"])):
    left.annotate(f"{n:,} ({share:.0%})", (n, y), xytext=(3, 0), textcoords="offset points", va="center")
left.invert_yaxis()
left.set_xlim(0, funnel["completions"].max() * 1.25)
left.set_title("Completions remaining after each step")
top = drops.head(15)
colors = dict(zip(CURATION_STAGES, plt.get_cmap("tab10").colors))
right.barh(top["stage"] + ": " + top["reason"], top["completions"], color=[colors[s] for s in top["stage"]])
right.invert_yaxis()
right.set_title(f"Drops by stage and reason (top {len(top)} of {len(drops)})")
figure.tight_layout()
echo.show_figure(figure, "funnel")
