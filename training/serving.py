"""The MLflow model of a fine-tuned FIM model (logged from this file, "models from code", so no
pickled object travels with it): a DataFrame of prefix (and suffix) in, middles out ("" = silence).

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
        suffixes = model_input["suffix"] if "suffix" in model_input else [None] * len(model_input)
        return [self.model.complete(p, s, max_new_tokens) for p, s in zip(model_input["prefix"], suffixes)]


mlflow.models.set_model(FimCompleter())
