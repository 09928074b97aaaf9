"""Metadata filters on retrieval: the JSON a client sends (`filter` on /v1/retrieve, /v1/chat, the
OpenAI-compatible endpoint, a bot's `default_filter`) parsed into a small typed tree that each vector
backend translates to its own Qdrant filter objects — never to a string-built query.

The language (documented in the README):
- a condition: `{"key": K, "eq": V}`, `{"key": K, "in": [V, ...]}`, `{"key": K, "gt"|"gte"|"lt"|"lte": N}`
  (numbers, or ISO 8601 dates/times for a date range; bounds may be combined), `{"key": K, "exists": bool}`;
- combinations: `{"and": [F, ...]}`, `{"or": [F, ...]}`, `{"not": F}`.
Keys are the chunk's own fields (`ALLOWED_KEYS`) or `metadata.<name>` (the source's `metadata` merged
with the document's JSON Lines `metadata`). The tenant and bot are not keys: the store adds them as
conditions of its own, AND-ed with the filter, so no filter can widen what a request sees.
Every refusal names the path inside the filter (e.g. `filter.and.1.gte`) and the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Union

from minirag.errors import InvalidInput

ALLOWED_KEYS = ("source_id", "document_id", "title", "external_id", "filename", "file_type", "page", "heading")
METADATA_KEY = re.compile(r"^metadata\.[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
RANGE_OPERATORS = ("gt", "gte", "lt", "lte")
MAX_DEPTH = 6
MAX_CONDITIONS = 64
MAX_IN_VALUES = 100
MAX_STRING = 512
INDEX_TYPES = ("keyword", "integer", "float", "datetime", "bool")

Scalar = Union[str, int, bool]


@dataclass(frozen=True)
class Match:
    key: str
    value: Scalar


@dataclass(frozen=True)
class MatchAny:
    key: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Range:
    """Numeric bounds (floats) or, when `dates`, RFC 3339 strings."""

    key: str
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None
    dates: bool = False


@dataclass(frozen=True)
class Exists:
    key: str
    exists: bool


@dataclass(frozen=True)
class And:
    children: tuple["FilterNode", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["FilterNode", ...]


@dataclass(frozen=True)
class Not:
    child: "FilterNode"


FilterNode = Union[Match, MatchAny, Range, Exists, And, Or, Not]


def parse_filter(value: Any, *, field: str = "filter") -> FilterNode | None:
    """The typed tree of a client's filter JSON (None for null or `{}`); InvalidInput naming the path
    otherwise."""
    if value is None or value == {}:
        return None
    counter = [0]
    return _parse(value, field, 1, counter)


def combine(*nodes: FilterNode | None) -> FilterNode | None:
    """All of the given filters (a bot's default filter and a request's); None when there is none."""
    present = tuple(n for n in nodes if n is not None)
    if not present:
        return None
    return present[0] if len(present) == 1 else And(present)


def _parse(value: Any, path: str, depth: int, counter: list[int]) -> FilterNode:
    if depth > MAX_DEPTH:
        raise InvalidInput(path, f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(value, dict) or not value:
        raise InvalidInput(path, "must be an object: a condition {key, eq|in|gt|gte|lt|lte|exists} or and/or/not")
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise InvalidInput(path, f"a filter holds at most {MAX_CONDITIONS} conditions")
    combinators = [k for k in ("and", "or", "not") if k in value]
    if combinators:
        if len(value) != 1:
            raise InvalidInput(path, f"`{combinators[0]}` must be the object's only key")
        name = combinators[0]
        inner = value[name]
        if name == "not":
            return Not(_parse(inner, f"{path}.not", depth + 1, counter))
        if not isinstance(inner, list) or not inner:
            raise InvalidInput(f"{path}.{name}", "must be a non-empty list of filters")
        children = tuple(_parse(item, f"{path}.{name}.{i}", depth + 1, counter) for i, item in enumerate(inner))
        return And(children) if name == "and" else Or(children)
    return _condition(value, path)


def _condition(value: dict[str, Any], path: str) -> FilterNode:
    unknown = sorted(set(value) - {"key", "eq", "in", "exists", *RANGE_OPERATORS})
    if unknown:
        raise InvalidInput(f"{path}.{unknown[0]}", "unknown operator; use eq, in, gt, gte, lt, lte, exists "
                           "(or and/or/not to combine)")
    key = _key(value.get("key"), f"{path}.key")
    operators = [k for k in ("eq", "in", "exists") if k in value]
    bounds = {k: value[k] for k in RANGE_OPERATORS if k in value}
    if len(operators) + (1 if bounds else 0) != 1:
        raise InvalidInput(path, "a condition takes exactly one of eq, in, exists or range bounds (gt/gte/lt/lte)")
    if "eq" in value:
        return Match(key, _scalar(value["eq"], f"{path}.eq"))
    if "in" in value:
        values = value["in"]
        if not isinstance(values, list) or not values:
            raise InvalidInput(f"{path}.in", "must be a non-empty list")
        if len(values) > MAX_IN_VALUES:
            raise InvalidInput(f"{path}.in", f"at most {MAX_IN_VALUES} values")
        scalars = tuple(_scalar(v, f"{path}.in.{i}") for i, v in enumerate(values))
        if len({bool if isinstance(v, bool) else type(v) for v in scalars}) > 1:
            raise InvalidInput(f"{path}.in", "values must all be strings, all integers or all booleans")
        return MatchAny(key, scalars)
    if "exists" in value:
        if not isinstance(value["exists"], bool):
            raise InvalidInput(f"{path}.exists", "must be true or false")
        return Exists(key, value["exists"])
    return _range(key, bounds, path)


def _key(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(path, "must name a field: " + ", ".join(ALLOWED_KEYS) + " or metadata.<name>")
    if value in ALLOWED_KEYS or METADATA_KEY.match(value):
        return value
    raise InvalidInput(path, f"unknown key {value[:80]!r}; use " + ", ".join(ALLOWED_KEYS) + " or metadata.<name> "
                       "(letters, digits, _ and -)")


def _scalar(value: Any, path: str) -> Scalar:
    if isinstance(value, bool) or isinstance(value, int):
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise InvalidInput(path, f"at most {MAX_STRING} characters")
        return value
    if isinstance(value, float):
        raise InvalidInput(path, "exact match on a decimal number is not supported; use gte/lte")
    raise InvalidInput(path, "must be a string, an integer or a boolean")


def _range(key: str, bounds: dict[str, Any], path: str) -> Range:
    kinds = set()
    normalised: dict[str, Any] = {}
    for name, bound in bounds.items():
        if isinstance(bound, bool):
            raise InvalidInput(f"{path}.{name}", "must be a number or an ISO 8601 date")
        if isinstance(bound, (int, float)):
            kinds.add("number")
            normalised[name] = float(bound)
        elif isinstance(bound, str):
            kinds.add("date")
            normalised[name] = _rfc3339(bound, f"{path}.{name}")
        else:
            raise InvalidInput(f"{path}.{name}", "must be a number or an ISO 8601 date")
    if len(kinds) > 1:
        raise InvalidInput(path, "range bounds must all be numbers or all be dates")
    return Range(key, dates=kinds == {"date"}, **normalised)


def _rfc3339(text: str, path: str) -> str:
    """An ISO 8601 date or date-time as the RFC 3339 string Qdrant compares (naive means UTC)."""
    try:
        parsed = datetime.fromisoformat(text) if "T" in text or " " in text else datetime.combine(
            date.fromisoformat(text), datetime.min.time())
    except ValueError:
        raise InvalidInput(path, "not an ISO 8601 date (e.g. 2024-05-01 or 2024-05-01T12:00:00Z)") from None
    if parsed.tzinfo is None:
        return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
    return parsed.isoformat()


def declared_index_types(spec: str) -> dict[str, str]:
    """The payload indexes FILTER_INDEXED_KEYS declares ("metadata.lang:keyword,metadata.year:integer"),
    as {payload path: index type}. Raises ValueError (a settings error) on a bad entry."""
    declared: dict[str, str] = {}
    for entry in (part.strip() for part in spec.split(",")):
        if not entry:
            continue
        name, _, kind = entry.partition(":")
        name, kind = name.strip(), (kind.strip() or "keyword")
        if not (name in ALLOWED_KEYS or METADATA_KEY.match(name)):
            raise ValueError(f"FILTER_INDEXED_KEYS: {name!r} is not a filterable key (metadata.<name> or one of "
                             + ", ".join(ALLOWED_KEYS) + ")")
        if kind not in INDEX_TYPES:
            raise ValueError(f"FILTER_INDEXED_KEYS: {kind!r} is not one of " + ", ".join(INDEX_TYPES))
        declared[name] = kind
    return declared
