# Databricks notebook source
# MAGIC %md
# MAGIC # Acceptance rate
# MAGIC
# MAGIC The share of shown completions that users took, wholly or in part, over time and by model and
# MAGIC language. Read from silver `completions` (one row per completion request): a completion was
# MAGIC shown when it has a proposal (C1); it was taken when its `outcome` is `accepted` or `partial`.
# MAGIC Runs on Databricks (tables from the `catalog` and `schema` widgets) and as
# MAGIC `python notebooks/acceptance_rate.py` over the local lakehouse.

# COMMAND ----------

import matplotlib.pyplot as plt
import pandas as pd
from lakehouse_session import open_session

echo = open_session(globals())

TAKEN = "outcome IN ('accepted', 'partial')"

# COMMAND ----------

# MAGIC %md
# MAGIC ## Over time
# MAGIC
# MAGIC One point per day, hour or minute: the coarsest bucket that still gives several points over
# MAGIC the span of the data (a demo covers minutes, a fleet months).

# COMMAND ----------


def time_bucket(span: pd.Timedelta, points: int = 6) -> str:
    """The coarsest of day, hour and minute that cuts the span into at least `points` buckets."""
    for unit, size in (("day", pd.Timedelta(days=1)), ("hour", pd.Timedelta(hours=1))):
        if span >= points * size:
            return unit
    return "minute"


span = echo.query("SELECT min(request_ts) AS first, max(request_ts) AS last FROM completions WHERE proposal IS NOT NULL")
unit = time_bucket(span["last"][0] - span["first"][0])
over_time = echo.query(
    f"""
    SELECT date_trunc('{unit}', request_ts) AS bucket,
           count(*) AS shown,
           sum(CASE WHEN {TAKEN} THEN 1 ELSE 0 END) AS taken
    FROM completions
    WHERE proposal IS NOT NULL
    GROUP BY 1
    ORDER BY 1
    """
)
over_time["acceptance_rate"] = over_time["taken"] / over_time["shown"]
echo.show_table(over_time, "acceptance_over_time")

# COMMAND ----------

# MAGIC %md
# MAGIC ## By model and language
# MAGIC
# MAGIC `partial` counts the proposals the user took only a part of (Copilot's line-wise accept).

# COMMAND ----------

by_model_language = echo.query(
    f"""
    SELECT coalesce(model, '(unknown)') AS model,
           coalesce(language, '(unknown)') AS language,
           count(*) AS shown,
           sum(CASE WHEN {TAKEN} THEN 1 ELSE 0 END) AS taken,
           sum(CASE WHEN outcome = 'partial' THEN 1 ELSE 0 END) AS partial
    FROM completions
    WHERE proposal IS NOT NULL
    GROUP BY 1, 2
    ORDER BY shown DESC, model, language
    """
)
by_model_language["acceptance_rate"] = by_model_language["taken"] / by_model_language["shown"]
echo.show_table(by_model_language, "acceptance_by_model_language")

# COMMAND ----------

figure, (timeline, groups) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 2]})
volume = timeline.twinx()
volume.bar(over_time["bucket"], over_time["shown"], width=pd.Timedelta(1, unit) * 0.8, color="tab:gray", alpha=0.25)
volume.set_ylabel("shown", color="tab:gray")
timeline.set_zorder(volume.get_zorder() + 1)
timeline.patch.set_visible(False)
timeline.plot(over_time["bucket"], over_time["acceptance_rate"], marker="o")
timeline.set_title(f"Acceptance rate per {unit}")
timeline.set_ylabel("taken / shown")
timeline.set_ylim(0, 1)
timeline.tick_params(axis="x", labelrotation=30)
labels = by_model_language["model"] + " · " + by_model_language["language"]
groups.barh(labels, by_model_language["acceptance_rate"])
for y, (rate, shown) in enumerate(zip(by_model_language["acceptance_rate"], by_model_language["shown"])):
    groups.annotate(f"{rate:.0%} of {shown:,}", (rate, y), xytext=(3, 0), textcoords="offset points", va="center")
groups.set_xlim(0, 1)
groups.invert_yaxis()
groups.set_title("By model · language")
figure.tight_layout()
echo.show_figure(figure, "acceptance_rate")
