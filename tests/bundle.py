"""The Databricks bundle as the CLI reads it, for the tests: databricks.yml, the resources/*.yml it
includes (merged per kind), and a target's values resolved - variables from the target over their
defaults, then every `${var.*}`, `${bundle.*}`, `${workspace.*}` and `${resources.*}` reference
replaced until none is left (a reference may lead to one that holds another)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml
from databricks.bundles.experiments import MlflowExperiment
from databricks.bundles.jobs import Job
from databricks.bundles.schemas import Schema
from databricks.bundles.volumes import Volume

from .conftest import REPO


def _load() -> tuple[dict[str, Any], dict[tuple[str, str], Path]]:
    bundle = yaml.safe_load((REPO / "databricks.yml").read_text(encoding="utf-8"))
    resources: dict[str, dict[str, Any]] = {}
    where: dict[tuple[str, str], Path] = {}
    for pattern in bundle.get("include", []):
        for path in sorted(REPO.glob(pattern)):
            part = yaml.safe_load(path.read_text(encoding="utf-8"))
            assert set(part) == {"resources"}, f"{path}: only resources belong in an included file"
            for kind, group in part["resources"].items():
                for key, spec in group.items():
                    assert key not in resources.get(kind, {}), f"resources.{kind}.{key} defined twice"
                    resources.setdefault(kind, {})[key] = spec
                    where[(kind, key)] = path
    assert "resources" not in bundle, "resources live in resources/*.yml"
    return {**bundle, "resources": resources}, where


BUNDLE, SOURCE = _load()
RESOURCES_DIR = REPO / "resources"
TARGETS = sorted(BUNDLE["targets"])
TYPED_MODELS: dict[str, Callable[[dict], Any]] = {
    "jobs": Job.from_dict, "experiments": MlflowExperiment.from_dict, "schemas": Schema.from_dict, "volumes": Volume.from_dict,
}

REFERENCE = re.compile(r"\$\{([^}]+)\}")
DYNAMIC = re.compile(r"\{\{([^}]+)\}\}")
JOB_PARAMETER = re.compile(r"\{\{job\.parameters\.([^}]+)\}\}")
# The dynamic value references, other than job parameters, that tasks may use; a run's values.
RUN_VALUES = {"job.run_id": "1234"}
# What the CLI knows of the workspace at deploy time, as a deployment by someone@example.com would see it.
WORKSPACE = {
    "workspace.file_path": str(REPO),
    "workspace.current_user.userName": "someone@example.com",
    "workspace.current_user.short_name": "someone",
}
# Values a deployer passes with --var (variables whose default is empty on purpose).
DEPLOY_VARS = {"prod": {"service_principal": "6b1e6bd5-0000-4000-8000-000000000001"}}


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def references(node: Any, prefix: str) -> set[str]:
    return {ref.removeprefix(prefix) for text in strings(node) for ref in REFERENCE.findall(text) if ref.startswith(prefix)}


def substitute(node: Any, context: dict[str, Any]) -> Any:
    """Every known `${name}` replaced from context; a string that is one reference takes the value's type."""
    if isinstance(node, dict):
        return {key: substitute(value, context) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute(value, context) for value in node]
    if not isinstance(node, str):
        return node
    whole = REFERENCE.fullmatch(node)
    if whole and whole.group(1) in context:
        return context[whole.group(1)]
    return REFERENCE.sub(lambda m: str(context[m.group(1)]) if m.group(1) in context else m.group(0), node)


def resolved(target: str, deploy_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """The bundle as the CLI deploys it to a target (no development-mode name prefixes);
    `deploy_vars` as `--var name=value` gives them."""
    spec = BUNDLE["targets"][target]
    values = {name: var.get("default") for name, var in BUNDLE["variables"].items()}
    values.update(spec.get("variables", {}))
    values.update(DEPLOY_VARS.get(target, {}))
    values.update(deploy_vars or {})
    tree = {"variables": values, "resources": BUNDLE["resources"],
            **{key: spec[key] for key in ("run_as", "permissions") if key in spec}}
    for _ in range(20):
        context: dict[str, Any] = {**WORKSPACE, "bundle.name": BUNDLE["bundle"]["name"], "bundle.target": target}
        context.update({f"var.{k}": v for k, v in tree["variables"].items()})
        for kind, group in tree["resources"].items():
            for key, resource in group.items():
                context.update({f"resources.{kind}.{key}.{f}": v for f, v in resource.items() if isinstance(v, str)})
        before, tree = tree, substitute(tree, context)
        if tree == before:
            break
    left = references(tree, "")
    assert not left, f"{target}: unresolved or circular references {sorted(left)}"
    return tree


def wheel_tasks(bundle: dict[str, Any] = BUNDLE) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for job_key, job in bundle["resources"]["jobs"].items():
        for task in job["tasks"]:
            if "python_wheel_task" in task:
                yield f"{job_key}.{task['task_key']}", task, job


def cluster_env(job: dict[str, Any], task: dict[str, Any]) -> dict[str, str]:
    """The environment variables of the job cluster a (resolved) task runs on."""
    [cluster] = [c["new_cluster"] for c in job["job_clusters"] if c["job_cluster_key"] == task["job_cluster_key"]]
    return {k: str(v) for k, v in cluster.get("spark_env_vars", {}).items()}


def task_argv(task: dict[str, Any], job: dict[str, Any], run: dict[str, str] | None = None) -> list[str]:
    """The task's parameters as a run passes them: job parameters at their defaults unless `run` sets them."""
    values = {**RUN_VALUES, **{f"job.parameters.{p['name']}": p["default"] for p in job.get("parameters", [])},
              **{f"job.parameters.{k}": v for k, v in (run or {}).items()}}
    return [DYNAMIC.sub(lambda m: values[m.group(1)], str(arg)) for arg in task["python_wheel_task"].get("parameters", [])]
