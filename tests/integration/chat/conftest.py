"""Fixtures for the chat orchestrator tests: a bot with an ingested handbook, a spy on the model
gateway (every call recorded, optionally replaced), and a probe that tells whether any database
transaction is open (SQLite: the write lock; PostgreSQL: an idle-in-transaction session)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from minirag.llm.gateway import LLMGateway
from tests.factories import make_bot_profile, make_ingested_source

HANDBOOK = (
    "# Laptops\n\nLaptop refunds are accepted within 30 days of purchase.\n\n"
    "# Phones\n\nPhone refunds are accepted within 14 days of purchase.\n\n"
    "# Shipping\n\nOrders ship within 2 business days. Express shipping costs 15 euros."
)


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


@pytest.fixture
def handbook(api, tenant_a, bot, ingest_worker):
    return make_ingested_source(api, tenant_a, bot["id"], ingest_worker, name="Handbook", content=HANDBOOK)


@dataclass
class Call:
    kind: str  # "complete" | "stream" | "embed"
    messages: Any
    kwargs: dict[str, Any]

    @property
    def is_rewrite(self) -> bool:
        return self.kind != "embed" and "<rewrite>" in self.messages[-1]["content"]


@dataclass
class GatewaySpy:
    """Records model calls made through `LLMGateway`; `before` runs first (e.g. raise, or probe)."""

    calls: list[Call] = field(default_factory=list)
    before: Callable[[Call], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. mock_response for every chat call

    def of(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    @property
    def answers(self) -> list[Call]:
        return [c for c in self.calls if c.kind in ("complete", "stream") and not c.is_rewrite]

    @property
    def rewrites(self) -> list[Call]:
        return [c for c in self.calls if c.kind in ("complete", "stream") and c.is_rewrite]


@pytest.fixture
def gateway_spy(monkeypatch) -> GatewaySpy:
    spy = GatewaySpy()
    originals = {name: getattr(LLMGateway, name) for name in ("complete", "stream", "embed")}

    def wrap(name: str):
        original = originals[name]

        def spied(self, messages, **kwargs):
            call = Call(name, messages, kwargs)
            spy.calls.append(call)
            if spy.before is not None:
                spy.before(call)
            extra = spy.extra if name != "embed" else {}
            return original(self, messages, **{**kwargs, **extra})

        return spied

    for name in originals:
        monkeypatch.setattr(LLMGateway, name, wrap(name))
    return spy
