"""The `filter` field's schema (its grammar is checked by minirag.vectorstore.filters, which names the
exact path of a bad part in its 422)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

FILTER_DESCRIPTION = (
    "A metadata filter: a condition {\"key\": K, \"eq\": V} | {\"key\": K, \"in\": [V, ...]} | "
    "{\"key\": K, \"gt\"|\"gte\"|\"lt\"|\"lte\": number or ISO 8601 date} | {\"key\": K, \"exists\": bool}, "
    "or {\"and\": [F, ...]} | {\"or\": [F, ...]} | {\"not\": F}. K is source_id, document_id, title, "
    "external_id, filename, file_type, page, heading or metadata.<name>."
)
FILTER_EXAMPLE = {"and": [{"key": "metadata.lang", "eq": "en"}, {"key": "metadata.year", "gte": 2020}]}

RetrievalFilter = Annotated[dict[str, Any], Field(description=FILTER_DESCRIPTION, examples=[FILTER_EXAMPLE])]
