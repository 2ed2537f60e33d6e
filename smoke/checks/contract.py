"""The response contract between web's consumer and chat's provider.

A chat answer is a JSON object carrying a non-empty string under ``answer`` or,
for older providers, ``response``.

Chat's published contract: the body web returned, checked against the 200
response schema of chat's ``POST /api/chat`` in chat's own ``GET /openapi.json``.

The runbook's rule (``contract``) comes first; this catches every other drift
(``sources`` turned into a string, ``conversation_id`` into a number, a field
gone). Validation is jsonschema's, JSON Schema 2020-12 as OpenAPI 3.1 uses it;
jsonschema is imported here only (``pip install 'contoso-smoke[contract]'``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from smoke.errors import ContractDrift
from smoke.masking import excerpt

ANSWER_FIELDS = ("answer", "response")


class ContractViolation(ValueError):
    """The body breaks the contract; the message says how."""


def extract_answer(body: str) -> tuple[str, dict[str, Any]]:
    """Return the answer text and the parsed object, or raise ``ContractViolation``."""
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        raise ContractViolation("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise ContractViolation(f"the body is a JSON {type(payload).__name__}, not an object")
    present = [name for name in ANSWER_FIELDS if name in payload]
    if not present:
        keys = ", ".join(sorted(payload)) or "none"
        raise ContractViolation(f"no 'answer' or 'response' field (fields: {keys})")
    for name in present:
        value = payload[name]
        if isinstance(value, str) and value.strip():
            return value, payload
    name = present[0]
    value = payload[name]
    if not isinstance(value, str):
        raise ContractViolation(f"'{name}' is a {type(value).__name__}, not a string")
    raise ContractViolation(f"'{name}' is an empty string")


CONTRACT_PATH = "/openapi.json"
OPERATION = ("/api/chat", "post", "200")
_DOCUMENT_URI = "urn:contoso-chat:openapi"
_MAX_REPORTED = 3


class NoSchema(Exception):
    """Chat publishes no usable schema for the operation; the message says why."""


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def operation_schema(document: Mapping[str, Any]) -> str:
    """JSON pointer to the 200 JSON schema of POST /api/chat; ``NoSchema`` if absent."""
    path, method, status = OPERATION
    try:
        content = document["paths"][path][method]["responses"][status]["content"]
        content["application/json"]["schema"]
    except (KeyError, TypeError):
        raise NoSchema(
            f"its document has no JSON schema for {method.upper()} {path} {status}"
        ) from None
    return "#/" + _pointer(
        "paths", path, method, "responses", status, "content", "application/json", "schema"
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "integer" if isinstance(value, int) else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


class ResponseSchema:
    """The 200 response schema of chat's POST /api/chat, ready to validate with."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        try:
            from jsonschema import Draft202012Validator, FormatChecker
            from referencing import Registry
            from referencing.jsonschema import DRAFT202012
        except ImportError:
            raise NoSchema(
                "jsonschema is not installed (pip install 'contoso-smoke[contract]')"
            ) from None
        pointer = operation_schema(document)
        registry: Registry[Any] = Registry().with_resource(
            _DOCUMENT_URI, DRAFT202012.create_resource(dict(document))
        )
        self._validator = Draft202012Validator(
            {"$ref": _DOCUMENT_URI + pointer}, registry=registry, format_checker=FormatChecker()
        )

    def violations(self, payload: object) -> list[str]:
        """Each way ``payload`` breaks it: ``$.sources: expected array, got string``."""
        from jsonschema.exceptions import SchemaError, UnknownType
        from referencing.exceptions import Unresolvable

        try:
            errors = sorted(
                self._validator.iter_errors(payload), key=lambda e: [str(p) for p in e.path]
            )
        except Unresolvable as exc:  # str(exc) would echo the whole document
            raise NoSchema(f"its schema has a $ref that does not resolve: {exc.ref}") from None
        except (SchemaError, UnknownType) as exc:
            raise NoSchema(f"its schema is not valid JSON Schema ({type(exc).__name__})") from None
        found = []
        for error in errors[:_MAX_REPORTED]:
            if error.validator == "type":
                expected = error.validator_value
                wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
                got = _json_type(error.instance)
                found.append(f"{error.json_path}: expected {wanted}, got {got}")
            else:
                found.append(f"{error.json_path}: {error.message}")
        return found


def load(get: Callable[[], httpx.Response]) -> ResponseSchema:
    """Fetch chat's contract and make it ready; ``NoSchema`` says why there is none."""
    return ResponseSchema(fetch(get))


def fetch(get: Callable[[], httpx.Response]) -> dict[str, Any]:
    """Chat's OpenAPI document, or ``NoSchema`` saying why there is none."""
    try:
        response = get()
    except httpx.TransportError as exc:
        raise NoSchema(f"GET {CONTRACT_PATH} failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise NoSchema(f"GET {CONTRACT_PATH} answered HTTP {response.status_code}")
    try:
        document = response.json()
    except json.JSONDecodeError:
        raise NoSchema(f"GET {CONTRACT_PATH} is not JSON") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise NoSchema(f"GET {CONTRACT_PATH} is not an OpenAPI 3 document")
    return document


def validate_contract(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    try:
        return extract_answer(response.text)
    except ContractViolation as exc:
        raise ContractDrift(
            f"response contract drift: {exc}",
            status=response.status_code,
            body=excerpt(response.text),
        ) from None
