"""The MLflow model of a fine-tuned FIM model (logged from this file, "models from code", so no
pickled object travels with it): a DataFrame of prefix (and suffix) in, middles out ("" = silence),
the whole batch in one `complete_batch` call.

    model = mlflow.pyfunc.load_model("models:/echo-fim/1")
    model.predict(pd.DataFrame({"prefix": ["def add(a, b):\n    return "], "suffix": ["\n"]}))
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd


class FimCompleter(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from training.inference import load_model

        self.model = load_model(context.artifacts["model"])

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> list[str]:
        max_new_tokens = int((params or {}).get("max_new_tokens", 64))
        prefixes = [str(p) for p in model_input["prefix"]]
        suffixes = [None if s is None or s != s else str(s) for s in model_input["suffix"]] if "suffix" in model_input \
            else [None] * len(prefixes)
        # One batched generation for the whole request (left-padded, similar lengths together): the
        # same middles as one by one, a fraction of the forward passes.
        return self.model.complete_batch(prefixes, suffixes, max_new_tokens)


mlflow.models.set_model(FimCompleter())
