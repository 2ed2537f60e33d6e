"""chat's contract: an OpenAPI 3.1 document generated from the operations the app
serves and the pydantic models it validates and answers with (``models``), so the
document cannot drift from the code. JSON Schemas come from pydantic itself:
requests as pydantic validates them, answers as it serializes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Reply:
    model: type[BaseModel]
    description: str
    links: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    responses: Mapping[int, Reply]
    request: type[BaseModel] | None = None
    #: name -> JSON Schema of each path parameter
    path_parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def document(
    operations: Sequence[Operation], *, title: str, version: str, description: str
) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for operation in operations:
        if operation.request is not None:
            wanted.append((operation.request, "validation"))
        wanted += [(reply.model, "serialization") for reply in operation.responses.values()]
    refs, schemas = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        spec: dict[str, Any] = {
            "operationId": operation.operation_id,
            "summary": operation.summary,
            "responses": {
                str(status): {
                    "description": reply.description,
                    "content": {
                        "application/json": {"schema": refs[(reply.model, "serialization")]}
                    },
                    **({"links": dict(reply.links)} if reply.links else {}),
                }
                for status, reply in sorted(operation.responses.items())
            },
        }
        if operation.path_parameters:
            spec["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": dict(schema)}
                for name, schema in operation.path_parameters.items()
            ]
        if operation.request is not None:
            schema = refs[(operation.request, "validation")]
            spec["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
        paths.setdefault(operation.path, {})[operation.method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {"schemas": schemas.get("$defs", {})},
    }
