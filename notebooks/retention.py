# Databricks notebook source
# MAGIC %md
# MAGIC # Retention of accepted completions
# MAGIC
# MAGIC Of the text a user accepted, how much is still in the code 30 seconds, 2, 5 and 10 minutes
# MAGIC later (the ages Copilot and Cody report): the share of the accepted tokens still in the gap,
# MAGIC per accepted completion in silver `completions`, averaged per model and per language. A
# MAGIC completion counts at an age only if its gap was observed then (`retention_*` not null), so
# MAGIC each point says how many completions it rests on, and points on too few are left out.

# COMMAND ----------

import matplotlib.pyplot as plt
import pandas as pd
from lakehouse_session import open_session

echo = open_session(globals())

# Age in minutes -> column of silver completions.
AGES = {0.5: "retention_30s", 2: "retention_2m", 5: "retention_5m", 10: "retention_10m"}
# A point of a curve needs this many observed completions.
MIN_OBSERVED = 5

# COMMAND ----------


def curves(group: str) -> pd.DataFrame:
    """Mean retention and observed completions per value of `group` and age, one row each."""
    ages = " UNION ALL ".join(
        f"SELECT coalesce({group}, '(unknown)') AS {group}, {minutes} AS age_minutes, {column} AS retention FROM accepted"
        for minutes, column in AGES.items()
    )
    return echo.query(
        f"""
        WITH accepted AS (SELECT * FROM completions WHERE outcome IN ('accepted', 'partial'))
        SELECT {group}, age_minutes, avg(retention) AS mean_retention, count(retention) AS observed
        FROM ({ages})
        GROUP BY 1, 2
        ORDER BY 1, 2
        """
    )


by_model, by_language = curves("model"), curves("language")
echo.show_table(by_model, "retention_by_model")
echo.show_table(by_language, "retention_by_language")

# COMMAND ----------

figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
for axis, frame, group in ((axes[0], by_model, "model"), (axes[1], by_language, "language")):
    for name, curve in frame[frame["observed"] >= MIN_OBSERVED].groupby(group):
        axis.plot(curve["age_minutes"], curve["mean_retention"], marker="o", label=name)
        for age, value, n in zip(curve["age_minutes"], curve["mean_retention"], curve["observed"]):
            axis.annotate(f"n={n:,}", (age, value), xytext=(0, 6), textcoords="offset points", ha="center", fontsize=8)
    axis.set_xscale("log")
    axis.set_xticks(list(AGES), [f"{m:g} min" for m in AGES])
    axis.set_ylim(0, 1.05)
    axis.set_xlabel("time since accept")
    axis.set_title(f"Retention by {group}")
    axis.legend(title=group, loc="lower left")
axes[0].set_ylabel("share of accepted tokens still there")
figure.tight_layout()
echo.show_figure(figure, "retention")
