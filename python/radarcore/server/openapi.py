"""The server's OpenAPI document, built from Stripe's subset and the route table.

Paths and operations come from :data:`radarcore.server.api.OPERATIONS`; the request body and
query parameters, and the response schema, of an operation Stripe has are taken from
``stripe-openapi-subset.json`` (its ``requestBody_form``, ``parameters`` and ``response_200``);
the component schemas are the subset's (schemas it references but leaves out are open objects).
radarcore's own operations (Radar Sessions, payment
evaluations, disputes and early fraud warnings created by the network, webhook endpoints) get
a generic form body.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

from radarcore.server.api import OPERATIONS

__all__ = ["openapi_document", "stripe_subset"]


@functools.cache
def stripe_subset() -> dict[str, Any]:
    """The bundled subset of Stripe's OpenAPI description."""
    text = (resources.files("radarcore") / "data" / "stripe-openapi-subset.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


_TYPES = frozenset({"array", "boolean", "integer", "number", "object", "string"})


def _clean(node: Any, refs: set[str]) -> Any:
    """The subset's schema made valid OpenAPI: a parameter hash the subset left out
    (``x-omitted``) becomes an open schema of its type; ``refs`` collects the references."""
    if isinstance(node, list):
        return [_clean(item, refs) for item in node]
    if not isinstance(node, dict):
        return node
    if "x-omitted" in node:
        return {"type": node["type"]} if node.get("type") in _TYPES else {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        refs.add(ref.rsplit("/", 1)[-1])
    return {key: _clean(value, refs) for key, value in node.items()}


def _response(spec: Any) -> dict[str, Any]:
    if isinstance(spec, str):
        return {"$ref": spec}
    if isinstance(spec, dict) and "list_of" in spec:
        return {
            "type": "object",
            "required": ["object", "data", "has_more", "url"],
            "properties": {
                "object": {"type": "string", "enum": ["list"]},
                "data": {"type": "array", "items": {"$ref": spec["list_of"]}},
                "has_more": {"type": "boolean"},
                "url": {"type": "string"},
            },
        }
    return {"type": "object"}


_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"$ref": "#/components/schemas/api_errors"}},
}


@functools.cache
def _document() -> dict[str, Any]:
    subset = stripe_subset()
    refs: set[str] = set()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        stripe_op = subset["paths"].get(op.path, {}).get(op.method.lower())
        parameters = [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in _path_names(op.path)
        ]
        operation: dict[str, Any] = {
            "operationId": op.operation_id,
            "security": [{"publishable" if op.key == "publishable" else "secret": []}],
            "responses": {
                "200": {
                    "description": "Successful response.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "default": {
                    "description": "Error response.",
                    "content": {"application/json": {"schema": _ERROR}},
                },
            },
        }
        if stripe_op is not None:
            parameters += [
                _clean(p, refs) for p in stripe_op.get("parameters", []) if p["in"] == "query"
            ]
            operation["responses"]["200"]["content"]["application/json"]["schema"] = _response(
                stripe_op.get("response_200")
            )
            form = stripe_op.get("requestBody_form")
            if form is not None and op.method != "GET":
                operation["requestBody"] = {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": _clean(form["schema"], refs),
                            "encoding": copy.deepcopy(form.get("encoding", {})),
                        }
                    },
                    "required": False,
                }
        elif op.method == "POST":
            operation["requestBody"] = {
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"type": "object", "additionalProperties": True}
                    }
                },
                "required": False,
            }
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    schemas = _clean(subset["components"]["schemas"], refs)
    for missing in sorted(refs - set(schemas)):
        schemas[missing] = {"type": "object", "description": "Not in radarcore's subset."}
    components: dict[str, Any] = {"schemas": schemas}
    components["securitySchemes"] = {
        "secret": {"type": "http", "scheme": "bearer"},
        "publishable": {"type": "http", "scheme": "bearer"},
    }
    return {
        "openapi": "3.0.0",
        "info": {
            "title": "radarcore",
            "version": subset["_meta"].get("api_version_in_spec", "2023-08-16"),
            "description": "Stripe's API for payments and Radar, served by radarcore.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components,
    }


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document of this server (a fresh copy)."""
    return copy.deepcopy(_document())
