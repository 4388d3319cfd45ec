# Databricks notebook source
# MAGIC %md
# MAGIC # From C1 to C_N: what users do with a proposal
# MAGIC
# MAGIC For every shown completion whose final content is known, silver `completions` holds the
# MAGIC proposal (C1, `proposal`) and what the user committed in its place (C_N, `committed`). Their
# MAGIC relation, per outcome, says whether users keep, extend, cut or rework proposals; the share of
# MAGIC C1's tokens that survive in C_N says how much of an accepted proposal the user kept.

# COMMAND ----------

import matplotlib.pyplot as plt
from lakehouse_session import open_session

echo = open_session(globals())

# A proposal is "edited" while at least this share of its tokens survives in C_N, "rewritten" below.
EDITED_MIN_SURVIVAL = 0.5
# The patterns, first match wins: kept, emptied, grown at its end, cut at its end, then by survival.
PATTERN = f"""
    CASE WHEN committed = proposal THEN 'kept as is'
         WHEN committed = '' THEN 'left empty'
         WHEN substring(committed, 1, length(proposal)) = proposal THEN 'extended'
         WHEN substring(proposal, 1, length(committed)) = committed THEN 'cut short'
         WHEN c1_survival >= {EDITED_MIN_SURVIVAL} THEN 'edited'
         ELSE 'rewritten'
    END
"""
PATTERNS = ["kept as is", "extended", "cut short", "edited", "rewritten", "left empty"]
OUTCOMES = ["accepted", "partial", "rejected", "ignored"]

# COMMAND ----------

patterns = echo.query(
    f"""
    SELECT outcome, {PATTERN} AS pattern, count(*) AS completions,
           avg(c1_edit_distance) AS mean_edit_distance, avg(c1_survival) AS mean_token_survival
    FROM completions
    WHERE proposal IS NOT NULL AND committed IS NOT NULL
    GROUP BY 1, 2
    ORDER BY 1, 2
    """
)
patterns["share_of_outcome"] = patterns["completions"] / patterns.groupby("outcome")["completions"].transform("sum")
echo.show_table(patterns, "edit_patterns")

# COMMAND ----------

# MAGIC %md
# MAGIC ## How much of an accepted proposal survives
# MAGIC
# MAGIC The share of C1's tokens still in C_N (`c1_survival`), in tenths (the last bin includes 1, all
# MAGIC kept). Unlike the edit distance it does not grow when the user goes on writing after the proposal.

# COMMAND ----------

survival = echo.query(
    """
    SELECT least(floor(10 * c1_survival), 9) / 10 AS token_survival, count(*) AS completions
    FROM completions
    WHERE outcome IN ('accepted', 'partial') AND c1_survival IS NOT NULL
    GROUP BY 1
    ORDER BY 1
    """
)
echo.show_table(survival, "accepted_token_survival")

# COMMAND ----------

table = patterns.pivot(index="outcome", columns="pattern", values="share_of_outcome").fillna(0)
table = table.reindex(index=[o for o in OUTCOMES if o in table.index], columns=[p for p in PATTERNS if p in table.columns])
figure, (stacked, histogram) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 2]})
table.plot.barh(stacked=True, ax=stacked, colormap="tab10", width=0.7)
stacked.invert_yaxis()
stacked.set_xlim(0, 1)
stacked.set_xlabel("share of the outcome's completions")
stacked.set_title("C1 -> C_N by outcome")
stacked.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(table.columns), frameon=False)
histogram.bar(survival["token_survival"], survival["completions"], width=0.09, align="edge")
histogram.set_xlim(0, 1)
histogram.set_xlabel("share of C1's tokens in C_N")
histogram.set_ylabel("accepted completions")
histogram.set_title("How much of accepted proposals survived")
figure.tight_layout()
echo.show_figure(figure, "edit_patterns")
