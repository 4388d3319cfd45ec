"""Telemetry simulator: developers writing real code with a completion service in the loop.

Pure Python (no Spark): it produces the raw input of the pipeline (telemetry v1 landing files)
together with the ground truth that the pipeline's derived tables can be scored against.
"""
