"""Checking an emulator's JSON against Google's discovery documents: every field known, typed right.

The discovery documents ship with google-api-python-client (a dev dependency). A field the
schema does not name, a wrong type, an enum value outside the list or an int64 sent as a JSON
number are each reported with their path, so a new emulator field must match the real API.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

INT64 = re.compile(r"^-?\d+$")


@cache
def discovery(name: str) -> dict[str, Any]:
    """A discovery document by file name, e.g. "run.v2"."""
    documents = resources.files("googleapiclient").joinpath("discovery_cache/documents")
    loaded: dict[str, Any] = json.loads(documents.joinpath(f"{name}.json").read_text())
    return loaded


def problems(api: str, schema: str, value: Any) -> list[str]:
    """What in `value` the API's `schema` does not allow (empty: it conforms)."""
    return _check(discovery(api)["schemas"], {"$ref": schema}, value, schema)


def _check(schemas: dict[str, Any], schema: dict[str, Any], value: Any, path: str) -> list[str]:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "any":
        return []
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        return _object(schemas, schema, value, path)
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {type(value).__name__}"]
        return [
            p
            for i, v in enumerate(value)
            for p in _check(schemas, schema["items"], v, f"{path}[{i}]")
        ]
    if kind == "string":
        return _string(schema, value, path)
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected an integer, got {value!r}"]
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    return [f"{path}: the schema has no type ({schema})"]


def _object(
    schemas: dict[str, Any], schema: dict[str, Any], value: dict[str, Any], path: str
) -> list[str]:
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    found: list[str] = []
    if extra is not None and extra.get("type") == "any" and "@type" in value:
        return _packed(schemas, value, path)  # a google.protobuf.Any: check what it packs
    for key, item in value.items():
        if properties is not None and key in properties:
            found += _check(schemas, properties[key], item, f"{path}.{key}")
        elif extra is not None:
            found += _check(schemas, extra, item, f"{path}.{key}")
        elif properties is not None:
            found.append(f"{path}.{key}: not a field of the real API")
    return found


def _packed(schemas: dict[str, Any], value: dict[str, Any], path: str) -> list[str]:
    packed = str(value["@type"]).rsplit("/", 1)[-1]  # e.g. google.cloud.run.v2.Service
    parts = packed.split(".")
    name = "GoogleCloudRunV2" + parts[-1] if packed.startswith("google.cloud.run.v2.") else ""
    if name not in schemas:
        return []
    rest = {k: v for k, v in value.items() if k != "@type"}
    return _check(schemas, {"$ref": name}, rest, f"{path}<{parts[-1]}>")


def _string(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    if not isinstance(value, str):
        return [
            f"{path}: expected a string (JSON carries int64 and enums as strings), got {value!r}"
        ]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']}"]
    fmt = schema.get("format")
    if fmt in ("int64", "uint64") and not INT64.match(value):
        return [f"{path}: {value!r} is not an int64"]
    if fmt == "google-datetime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return [f"{path}: {value!r} is not an RFC 3339 timestamp"]
    return []
