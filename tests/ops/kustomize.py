"""Render a kustomization: `kubectl kustomize` where kubectl exists, else the subset chibo's files use.

The fallback understands what deploy/k8s uses and nothing more (it refuses anything else): resources
(files and directories), namespace, common labels, images, configMapGenerator with behavior merge,
strategic-merge patches by kind and name (containers merged by name) and JSON 6902 patches with a target.
"""

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

KNOWN = {"apiVersion", "kind", "namespace", "labels", "resources", "images", "configMapGenerator", "patches"}
CLUSTER_SCOPED = {"Namespace"}


def render(directory: Path, *, prefer_kubectl: bool = True) -> list[dict[str, Any]]:
    """The rendered objects of the kustomization in `directory`."""
    if prefer_kubectl and shutil.which("kubectl"):
        out = subprocess.run(
            ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True, timeout=120
        )
        return [doc for doc in yaml.safe_load_all(out.stdout) if doc]
    return _render(directory)


def _render(directory: Path) -> list[dict[str, Any]]:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(spec) - KNOWN
    assert not unknown, f"the fallback renderer does not know {unknown}"
    objects: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        path = directory / resource
        if path.is_dir():
            objects += _render(path)
        else:
            objects += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    for generator in spec.get("configMapGenerator", []):
        assert generator.get("behavior") == "merge", "only merging generators are supported"
        target = _find(objects, "ConfigMap", generator["name"])
        for literal in generator.get("literals", []):
            key, _, value = literal.partition("=")
            target.setdefault("data", {})[key] = value
    for patch in spec.get("patches", []):
        if "path" in patch:
            for doc in yaml.safe_load_all((directory / patch["path"]).read_text(encoding="utf-8")):
                if doc:
                    _merge(_find(objects, doc["kind"], doc["metadata"]["name"]), doc)
        else:
            target = _find(objects, patch["target"]["kind"], patch["target"]["name"])
            for operation in yaml.safe_load(patch["patch"]):
                _json_patch(target, operation)
    for obj in objects:
        if "namespace" in spec and obj["kind"] not in CLUSTER_SCOPED:
            obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
        for group in spec.get("labels", []):
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(group["pairs"])
        for image in spec.get("images", []):
            _retag(obj, image)
    return objects


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"no {kind} {name} to patch")


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif isinstance(value, list) and key == "containers" and isinstance(target.get(key), list):
            for item in value:
                existing = next((c for c in target[key] if c.get("name") == item.get("name")), None)
                if existing is None:
                    target[key].append(copy.deepcopy(item))
                else:
                    _merge(existing, item)
        else:
            target[key] = copy.deepcopy(value)


def _json_patch(target: dict[str, Any], operation: dict[str, Any]) -> None:
    assert operation["op"] in ("replace", "add"), operation
    *parents, last = [part for part in operation["path"].split("/") if part]
    node: Any = target
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = operation["value"]


def _retag(node: Any, image: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str) and value.split(":")[0] == image["name"]:
                node[key] = f"{image.get('newName', image['name'])}:{image['newTag']}"
            else:
                _retag(value, image)
    elif isinstance(node, list):
        for item in node:
            _retag(item, image)
