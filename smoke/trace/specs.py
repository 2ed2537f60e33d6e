"""Trace specs: assertions on what happened inside the stack, judged on the spans the
smoke already holds, in-process (after Tracetest's test specs, without its server).

A spec selects spans (service, a glob on the span's name, attribute matches) in each
step's trace, or in each request of the step (``per = "request"``), and asserts on
them, one line an assertion:

    count == 1            how many spans the selection holds (== != < <= > >=)
    duration < 200ms      each selected span (units ns us ms s)
    status == ok          each selected span: ok is "not an error", error is one
    attr KEY OP VALUE     each selected span; OP is == != < <= > >= =~ !~ contains;
                          VALUE a number, true/false, or a quoted string ('…' or "…")

Over an empty selection, ``count`` holds as its number says (``count == 0`` holds);
every other assertion fails, said as "selected no span". A spec without a ``step``
judges every passing step, and applies to those where it selects a span; one that
selects nothing in the whole run fails. A spec that
selects a service which sent no span all run is not judged, and said so. A wait's early tries, which
the wait itself retried (marked ``smoke.retried``), are no part of any selection.

``parse`` reads specs from TOML tables (``SpecError`` says what is wrong, and where);
``judge`` evaluates them after a run.
"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from smoke.trace.context import RETRIED
from smoke.trace.spans import KIND_CLIENT, SMOKE_SERVICE, Span

Per = Literal["trace", "request"]
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
_COUNT = re.compile(r"^count\s*(==|!=|<=|>=|<|>)\s*(\d+)$")
_DURATION = re.compile(r"^duration\s*(==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s)$")
_STATUS = re.compile(r"^status\s*(==|!=)\s*(ok|error)$")
_ATTR = re.compile(r"^attr\s+([A-Za-z0-9_.\-]+)\s*(==|!=|<=|>=|<|>|=~|!~|contains)\s*(.+)$")
_FIELDS = {"name", "step", "select", "per", "assert"}
NO_SPAN = "selected no span"
EVERY_STEP = "every passing step"
_SELECT_FIELDS = {"service", "name", "attributes"}
_MATCHES = {"equals", "contains", "regex"}


class SpecError(ValueError):
    """A spec that cannot be read; the message names the spec and what is wrong."""


@dataclass(frozen=True)
class AttributeMatch:
    key: str
    how: str  # equals, contains, regex
    value: str

    def holds(self, span: Span) -> bool:
        if self.key not in span.attributes:
            return False
        value = span.attributes[self.key]
        seen = str(value).lower() if isinstance(value, bool) else str(value)  # as TOML says it
        if self.how == "contains":
            return self.value in seen
        if self.how == "regex":
            return re.search(self.value, seen) is not None
        return seen == self.value


@dataclass(frozen=True)
class Selector:
    #: A service's name, or `!name` for every service but that one; empty: any.
    service: str = ""
    #: A glob on the span's name (`POST /api/*`); empty: any.
    name: str = ""
    attributes: tuple[AttributeMatch, ...] = ()
    #: Only spans that failed (the built-in spec); not a TOML field.
    errors_only: bool = False

    def holds(self, span: Span) -> bool:
        if self.service.startswith("!"):
            if span.service == self.service[1:]:
                return False
        elif self.service and span.service != self.service:
            return False
        if self.name and not fnmatch.fnmatchcase(span.name, self.name):
            return False
        if self.errors_only and not span.failed:
            return False
        return all(match.holds(span) for match in self.attributes)


@dataclass(frozen=True)
class Assertion:
    text: str
    subject: str  # count, duration, status, attr
    op: str
    expected: Any
    key: str = ""


@dataclass(frozen=True)
class Spec:
    name: str
    select: Selector
    asserts: tuple[Assertion, ...]
    step: str | None = None
    per: Per = "trace"
    #: Where it was read (a file, pyproject.toml, built in).
    source: str = ""


@dataclass(frozen=True)
class Verdict:
    """One spec in one step (one request of it, with ``per = "request"``)."""

    spec: Spec
    step: str
    passed: bool
    #: The assertion that failed, and what was measured (``count was 3``).
    assertion: str = ""
    measured: str = ""
    selected: tuple[Span, ...] = ()
    #: False when there was nothing to judge it on (``measured`` says why).
    judged: bool = True


# -- reading --------------------------------------------------------------------


def parse_assertion(text: str) -> Assertion:
    line = text.strip()
    if found := _COUNT.match(line):
        return Assertion(line, "count", found[1], int(found[2]))
    if found := _DURATION.match(line):
        return Assertion(line, "duration", found[1], float(found[2]) * _UNITS[found[3]])
    if found := _STATUS.match(line):
        return Assertion(line, "status", found[1], found[2])
    if found := _ATTR.match(line):
        return Assertion(line, "attr", found[2], _value(found[3].strip(), found[2]), found[1])
    raise SpecError(
        f"cannot read the assertion {text!r}: expected `count OP N`, `duration OP N<unit>` "
        "(ns us ms s), `status == ok|error` or `attr KEY OP VALUE`"
    )


def _value(text: str, op: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        value: Any = text[1:-1]
    elif text in ("true", "false"):
        value = text == "true"
    else:
        try:
            value = float(text) if "." in text else int(text)
        except ValueError:
            value = text
    if op in ("=~", "!~"):
        try:
            re.compile(str(value))
        except re.error as exc:
            raise SpecError(f"the pattern {text} is not a regular expression: {exc}") from None
    return value


def parse(table: Any, *, source: str) -> Spec:
    """One spec from its TOML table; ``SpecError`` names the spec and the problem."""
    if not isinstance(table, dict):
        raise SpecError(f"{source}: a spec must be a table, not {table!r}")
    name = table.get("name")
    where = f"{source}: spec {name!r}" if name else f"{source}: a spec without a name"
    if not isinstance(name, str) or not name:
        raise SpecError(f"{where}: `name` must be a string")
    unknown = sorted(set(table) - _FIELDS)
    if unknown:
        raise SpecError(f"{where}: unknown field {', '.join(unknown)}; known: {_known(_FIELDS)}")
    step = table.get("step")
    per = table.get("per", "trace")
    if step is not None and not isinstance(step, str):
        raise SpecError(f"{where}: `step` must be a step's name")
    if per not in ("trace", "request"):
        raise SpecError(f'{where}: `per` must be "trace" or "request", not {per!r}')
    lines = table.get("assert")
    if not isinstance(lines, list) or not lines or not all(isinstance(a, str) for a in lines):
        raise SpecError(f"{where}: `assert` must be a list of one-line assertions")
    asserts = []
    for line in lines:
        try:
            asserts.append(parse_assertion(line))
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None
    return Spec(name, _selector(table.get("select", {}), where), tuple(asserts), step, per, source)


def _selector(raw: Any, where: str) -> Selector:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: `select` must be a table")
    unknown = sorted(set(raw) - _SELECT_FIELDS)
    if unknown:
        raise SpecError(
            f"{where}: unknown field select.{', select.'.join(unknown)}; "
            f"known: {_known(_SELECT_FIELDS)}"
        )
    matches = []
    attributes = raw.get("attributes", {})
    if not isinstance(attributes, dict):
        raise SpecError(f"{where}: `select.attributes` must be a table")
    for key, wanted in attributes.items():
        if isinstance(wanted, dict):
            if len(wanted) != 1 or next(iter(wanted)) not in _MATCHES:
                raise SpecError(f"{where}: select.attributes.{key} takes one of {_known(_MATCHES)}")
            how, value = next(iter(wanted.items()))
            if how == "regex":
                try:
                    _value(repr(str(value)), "=~")
                except SpecError as exc:
                    raise SpecError(f"{where}: select.attributes.{key}: {exc}") from None
            matches.append(AttributeMatch(key, how, str(value)))
        else:
            shown = str(wanted).lower() if isinstance(wanted, bool) else str(wanted)
            matches.append(AttributeMatch(key, "equals", shown))
    return Selector(str(raw.get("service", "")), str(raw.get("name", "")), tuple(matches))


def _known(fields: set[str]) -> str:
    return ", ".join(sorted(fields))


#: On for every stack: a passing step's trace holds no error span below the smoke.
BUILT_IN = Spec(
    "no error span in a passing step",
    Selector(service=f"!{SMOKE_SERVICE}", errors_only=True),
    (parse_assertion("count == 0"),),
    source="built in",
)


# -- judging --------------------------------------------------------------------


def judge(
    specs: Sequence[Spec], spans: Sequence[Span], traces: Mapping[str, str], passed: Sequence[str]
) -> list[Verdict]:
    """Each spec in each step it applies to: ``traces`` is each step's trace id,
    ``passed`` the steps that passed (a spec judges only those)."""
    by_parent: dict[str | None, list[Span]] = {}
    for span in spans:
        by_parent.setdefault(span.parent_id, []).append(span)
    senders = {span.service for span in spans}
    verdicts = []
    for spec in specs:
        named = spec.select.service
        if named and not named.startswith("!") and named not in senders and passed:
            # Nothing to judge it on: said, not failed (a stack that traces no such service).
            verdicts.append(Verdict(spec, EVERY_STEP, True, measured=_silent(named), judged=False))
            continue
        mine = []
        for step in [spec.step] if spec.step else list(passed):
            trace_id = traces.get(step)
            if step not in passed or trace_id is None:
                continue
            for group in _groups(spec.per, trace_id, spans, by_parent):
                mine.append(_verdict(spec, step, [s for s in group if spec.select.holds(s)]))
        if spec.step is None:
            # Over every step, a step where it selects nothing is one it does not
            # apply to; selecting nothing in the whole run is a failure of its own
            # (what it selects only in a step that failed is that step's news).
            applied = [v for v in mine if v.measured != NO_SPAN]
            if mine and not applied and not any(spec.select.holds(s) for s in spans):
                applied = [replace(mine[0], step=EVERY_STEP)]
            mine = applied
        verdicts += mine
    return verdicts


def _silent(service: str) -> str:
    return f"not judged: {service} sent no span this run"


def _groups(
    per: Per, trace_id: str, spans: Sequence[Span], by_parent: Mapping[str | None, list[Span]]
) -> list[list[Span]]:
    """The spans a count is over: the step's whole trace, or each request's subtree;
    the step's own span and every retried try's subtree left out."""
    roots = [s for s in spans if s.trace_id == trace_id and s.parent_id is None]
    requests = [
        child
        for root in roots
        for child in by_parent.get(root.span_id, [])
        if not child.attributes.get(RETRIED)
    ]
    subtrees = [_subtree(request, by_parent) for request in requests]
    if per == "request":
        return [
            tree
            for tree, request in zip(subtrees, requests, strict=True)
            if request.kind == KIND_CLIENT
        ]
    return [[span for tree in subtrees for span in tree]]


def _subtree(span: Span, by_parent: Mapping[str | None, list[Span]]) -> list[Span]:
    found, todo = [], [span]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += [c for c in by_parent.get(current.span_id, []) if not c.attributes.get(RETRIED)]
    return found


def _verdict(spec: Spec, step: str, selected: list[Span]) -> Verdict:
    chosen = tuple(sorted(selected, key=lambda s: s.start))
    for assertion in spec.asserts:
        measured = _measure(assertion, chosen)
        if measured is not None:
            return Verdict(spec, step, False, assertion.text, measured, chosen)
    return Verdict(spec, step, True, selected=chosen)


def _measure(assertion: Assertion, spans: tuple[Span, ...]) -> str | None:
    """None when the assertion holds; else what was measured, in words."""
    if assertion.subject == "count":
        holds = _COMPARE[assertion.op](len(spans), assertion.expected)
        return None if holds else f"count was {len(spans)}"
    if not spans:
        return NO_SPAN
    for span in spans:
        said = _measure_one(assertion, span)
        if said is not None:
            return f"{said} ({span.service} {span.name})"
    return None


def _measure_one(assertion: Assertion, span: Span) -> str | None:
    if assertion.subject == "duration":
        took = span.end - span.start if span.end is not None else float("inf")
        holds = _COMPARE[assertion.op](took, assertion.expected)
        return None if holds else f"duration was {_seconds(took)}"
    if assertion.subject == "status":
        status = "error" if span.failed else "ok"
        holds = _COMPARE[assertion.op](status, assertion.expected)
        return None if holds else f"status was {status}"
    present = assertion.key in span.attributes
    seen = span.attributes.get(assertion.key)
    if not present:
        return None if assertion.op in ("!=", "!~") else f"attr {assertion.key} was missing"
    if _attribute_holds(assertion.op, seen, assertion.expected):
        return None
    return f"attr {assertion.key} was {seen!r}"


def _attribute_holds(op: str, seen: Any, expected: Any) -> bool:
    if op in ("=~", "!~"):
        found = re.search(str(expected), str(seen)) is not None
        return found if op == "=~" else not found
    if op == "contains":
        return str(expected) in str(seen)
    if isinstance(expected, bool) or isinstance(seen, bool):
        return _COMPARE[op](str(seen).lower(), str(expected).lower())
    if isinstance(expected, int | float):
        try:
            return _COMPARE[op](float(seen), float(expected))
        except (TypeError, ValueError):
            return op == "!="
    return _COMPARE[op](str(seen), str(expected))


def _seconds(seconds: float) -> str:
    if seconds == float("inf"):
        return "open (never ended)"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"
