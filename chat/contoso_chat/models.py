"""The API's bodies as pydantic models: they validate requests, serialize responses,
and are where chat's published contract (``GET /openapi.json``) comes from."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

MAX_QUESTION_CHARS = 4000
# Some non-space character, and no NUL: PostgreSQL text cannot hold NUL, and a
# client's bad input must be a 422, not a database error.
QUESTION_PATTERN = r"^[^\x00]*[^\x00\s][^\x00]*$"


Question = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        pattern=QUESTION_PATTERN,
        description="What the customer asks, in their own words.",
        examples=["Which tent is best for stargazing?"],
    ),
]


class ChatRequest(BaseModel):
    question: Question
    conversation_id: uuid.UUID | None = Field(
        default=None, description="Continue this conversation; omit to start a new one."
    )


class ChatAnswer(BaseModel):
    answer: str = Field(min_length=1, description="The answer, composed from the top products.")
    conversation_id: uuid.UUID
    sources: list[str] = Field(description="SKUs of the products the answer used, best first.")
    scores: list[float] = Field(
        default_factory=list,
        description="Each source's retrieval score, in the same order: cosine similarity "
        "with the local stack, summed IDF weight of shared words with the minimal one.",
    )


class ErrorBody(BaseModel):
    error: str = Field(description="What went wrong, for a person to read.")
    field: str | None = Field(default=None, description="The request field at fault, if any.")


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    sources: list[str]
    created_at: datetime


class Conversation(BaseModel):
    conversation_id: uuid.UUID
    messages: list[Message]


class Health(BaseModel):
    status: Literal["ok"]
    service: Literal["chat"]
    stack: Literal["minimal", "local"]
    model: str | None = Field(default=None, description="The embedding model (local stack).")
    dimension: int | None = Field(default=None, description="Its vector dimension.")


class DbDependency(BaseModel):
    status: Literal["ok", "error"]
    latency_ms: float | None = Field(default=None, description="A round trip on chat's connection.")
    products: int | None = Field(default=None, description="Products seeded in the catalog.")
    reason: str | None = Field(
        default=None,
        description="Why db cannot serve: connecting, connection refused, "
        "authentication failed, catalog missing, …",
    )
    transient: bool | None = Field(
        default=None, description="Whether waiting can help (false: fix the configuration)."
    )
    detail: str | None = None


class Dependencies(BaseModel):
    db: DbDependency


class DependencyHealth(BaseModel):
    status: Literal["ok", "error"]
    dependencies: Dependencies
