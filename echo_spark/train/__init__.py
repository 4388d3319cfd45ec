"""The train and build-base-model stages: the `training/` library (model, Ray Train, MLflow) called
with the pipeline's settings. Training itself imports nothing of `echo_spark`; what it needs from
the pipeline (settings, the gold table, the simulator's held-out files, where a unit ends) is
handed in from here.
"""
