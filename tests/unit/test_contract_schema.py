"""Chat's published contract, as the smoke reads it and checks web's answer with it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from smoke.checks.contract import (
    CONTRACT_PATH,
    NoSchema,
    ResponseSchema,
    fetch,
    load,
    operation_schema,
)
from tests.unit.fakes import chat_openapi

GOOD = {"answer": "Try the tent.", "conversation_id": "c1", "sources": ["TENT-002"]}


def answered(status: int = 200, **kwargs: Any) -> httpx.Response:
    return httpx.Response(
        status, request=httpx.Request("GET", "http://c" + CONTRACT_PATH), **kwargs
    )


def test_a_body_that_matches_has_no_violations() -> None:
    assert ResponseSchema(chat_openapi()).violations(GOOD) == []


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({**GOOD, "sources": "TENT-002"}, ["$.sources: expected array, got string"]),
        ({**GOOD, "conversation_id": 42}, ["$.conversation_id: expected string, got integer"]),
        ({**GOOD, "conversation_id": 4.5}, ["$.conversation_id: expected string, got number"]),
        ({**GOOD, "conversation_id": True}, ["$.conversation_id: expected string, got boolean"]),
        ({**GOOD, "conversation_id": None}, ["$.conversation_id: expected string, got null"]),
        ({**GOOD, "sources": [1]}, ["$.sources[0]: expected string, got integer"]),
        ({**GOOD, "sources": {"a": 1}}, ["$.sources: expected array, got object"]),
        ({"answer": "x", "conversation_id": "c"}, ["$: 'sources' is a required property"]),
        ({**GOOD, "answer": ""}, ["$.answer: '' should be non-empty"]),
    ],
)
def test_each_violation_names_the_path_and_what_is_expected(
    body: dict[str, Any], said: list[str]
) -> None:
    assert ResponseSchema(chat_openapi()).violations(body) == said


def test_several_violations_are_reported_in_path_order_at_most_three() -> None:
    body = {"answer": 1, "conversation_id": 2, "sources": 3, "extra": 4}
    found = ResponseSchema(chat_openapi()).violations(body)
    assert found == [
        "$.answer: expected string, got integer",
        "$.conversation_id: expected string, got integer",
        "$.sources: expected array, got integer",
    ]


def test_a_type_list_is_said_as_alternatives() -> None:
    document = chat_openapi()
    document["components"]["schemas"]["ChatAnswer"]["properties"]["sources"]["type"] = [
        "array",
        "null",
    ]
    found = ResponseSchema(document).violations({**GOOD, "sources": "x"})
    assert found == ["$.sources: expected array or null, got string"]


def test_a_document_without_the_operation_has_no_schema() -> None:
    document = chat_openapi()
    del document["paths"]["/api/chat"]["post"]["responses"]["200"]
    with pytest.raises(NoSchema, match=r"no JSON schema for POST /api/chat 200"):
        operation_schema(document)
    with pytest.raises(NoSchema):
        ResponseSchema({"openapi": "3.1.0"})


def test_the_pointer_escapes_slashes() -> None:
    pointer = operation_schema(chat_openapi())
    assert pointer == ("#/paths/~1api~1chat/post/responses/200/content/application~1json/schema")


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (answered(404, json={"error": "Not Found"}), "GET /openapi.json answered HTTP 404"),
        (answered(200, text="<html>"), "GET /openapi.json is not JSON"),
        (answered(200, json=["openapi"]), "GET /openapi.json is not an OpenAPI 3 document"),
        (answered(200, json={"swagger": "2.0"}), "GET /openapi.json is not an OpenAPI 3 document"),
    ],
)
def test_why_there_is_no_schema(response: httpx.Response, reason: str) -> None:
    with pytest.raises(NoSchema) as caught:
        fetch(lambda: response)
    assert str(caught.value) == reason


def test_a_chat_that_cannot_be_reached_has_no_schema() -> None:
    def refuse() -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(NoSchema, match=r"GET /openapi.json failed: ConnectError"):
        fetch(refuse)


def test_load_fetches_and_prepares() -> None:
    schema = load(lambda: answered(200, json=chat_openapi()))
    assert schema.violations({**GOOD, "sources": "x"}) == ["$.sources: expected array, got string"]


def test_a_list_where_a_string_is_promised_is_called_an_array() -> None:
    found = ResponseSchema(chat_openapi()).violations({**GOOD, "conversation_id": ["c1"]})
    assert found == ["$.conversation_id: expected string, got array"]


def test_formats_the_schema_names_are_checked() -> None:
    document = chat_openapi()
    document["components"]["schemas"]["ChatAnswer"]["properties"]["conversation_id"]["format"] = (
        "email"
    )
    found = ResponseSchema(document).violations({**GOOD, "conversation_id": "c1"})
    assert found == ["$.conversation_id: 'c1' is not a 'email'"]


def test_violations_are_in_path_order_whatever_the_schemas_order() -> None:
    document = chat_openapi()
    answer = document["components"]["schemas"]["ChatAnswer"]
    answer["properties"] = dict(reversed(answer["properties"].items()))
    answer = dict(reversed(answer.items()))  # "required" after "properties"
    document["components"]["schemas"]["ChatAnswer"] = answer
    found = ResponseSchema(document).violations({"sources": 3, "answer": 1})
    assert found == [
        "$: 'conversation_id' is a required property",
        "$.answer: expected string, got integer",
        "$.sources: expected array, got integer",
    ]


def test_without_jsonschema_there_is_no_schema_and_the_fix_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "jsonschema", None)
    with pytest.raises(NoSchema) as caught:
        ResponseSchema(chat_openapi())
    assert str(caught.value) == (
        "jsonschema is not installed (pip install 'contoso-smoke[contract]')"
    )


def test_a_dangling_ref_is_no_schema_and_echoes_no_document() -> None:
    document = chat_openapi()
    document["components"]["schemas"]["ChatAnswer"]["properties"]["sources"] = {
        "$ref": "#/components/schemas/Missing"
    }
    with pytest.raises(NoSchema) as caught:
        ResponseSchema(document).violations(GOOD)
    assert str(caught.value) == (
        "its schema has a $ref that does not resolve: /components/schemas/Missing"
    )


def test_a_schema_that_is_not_json_schema_is_no_schema() -> None:
    document = chat_openapi()
    document["components"]["schemas"]["ChatAnswer"]["properties"]["answer"] = {"type": "text"}
    with pytest.raises(NoSchema, match=r"^its schema is not valid JSON Schema \(UnknownType\)$"):
        ResponseSchema(document).violations(GOOD)
