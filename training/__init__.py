"""Training: the tiny base model, FIM fine-tuning with Ray Train from the gold table, MLflow.

Nothing here may download at run time (models and tokenizers are built locally or given by path),
so the hub is switched off before any module imports transformers.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Progress bars would drown the one progress line of a job.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
