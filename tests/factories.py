"""Builders for test data, through the public API (never raw SQL), so tests exercise what users do."""

from __future__ import annotations

from typing import Any


def make_bot_profile(api, tenant, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Support bot", "system_prompt": "Answer from the sources.", **overrides}
    response = api.post("/v1/bot-profiles", body, token=tenant.token)
    assert response.status == 201, response.body
    return response.json


def make_source(api, tenant, bot_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"bot_profile_id": bot_id, "name": "Handbook", "source_type": "text",
            "content": "Our office opens at 9am. Refunds are processed within 14 days.", **overrides}
    response = api.post("/v1/sources", body, token=tenant.token)
    assert response.status == 201, response.body
    return response.json
