"""The embedded default's queue: durable, in the app database (`db/queue_rows.py`), shaped like
SQS so the local worker treats it as one. A message stays until it is acknowledged; a delivery
holds it for a lease (the visibility timeout) that the worker extends while the handler runs, so a
worker killed mid-batch (kill -9, a crash) has its messages delivered again once the lease lapses,
and Ctrl-C hands them back at once. Receives go round-robin across tenants (the message group)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, Callable, Iterable

from minirag.db import queue_rows
from minirag.db.base import utcnow
from minirag.db.engine import Session, get_session_factory
from minirag.db.scope import unit_of_work

INGEST_QUEUE = "ingest"
DEAD_LETTER_QUEUE = "ingest-dlq"
LEASE_SECONDS = 20.0
"""How long a delivery holds its messages without a heartbeat: the worst-case wait for work a
killed worker held. The worker extends it every LEASE_SECONDS / 4 while the handler runs."""

_arrived = threading.Condition()  # wakes a long-polling receive when this process sends


@dataclass
class QueuedMessage:
    """One delivery of a message: what SQS's ReceiveMessage returns."""

    body: str
    message_id: str
    receive_count: int
    receipt: str = ""


class EmbeddedQueue:
    def __init__(self, name: str = INGEST_QUEUE, dead_letter_name: str = DEAD_LETTER_QUEUE) -> None:
        self.name = name
        self.dead_letter_name = dead_letter_name

    @contextmanager
    def _unit(self, *, write: bool = True) -> Iterator[Session]:
        """A session in one unit of work (a read takes no write lock on SQLite)."""
        with get_session_factory()() as session, unit_of_work(session, write=write):
            yield session

    # -- producer -------------------------------------------------------------------------------
    def send(self, body: str, group_id: str | None = None) -> str:
        return self.send_many([(group_id, body)])[0]

    def send_many(self, messages: list[tuple[str | None, str]]) -> list[str]:
        """(group_id, body) pairs, committed together."""
        with self._unit() as session:
            ids = queue_rows.send(session, self.name, messages, utcnow())
        with _arrived:
            _arrived.notify_all()
        return ids

    # -- consumer -------------------------------------------------------------------------------
    def receive(self, max_messages: int = 10, wait_seconds: float = 0.0,
                lease_seconds: float = LEASE_SECONDS) -> list[QueuedMessage]:
        """Claim up to `max_messages` (round-robin across groups), waiting up to `wait_seconds`."""
        batch = self._claim(max_messages, lease_seconds)
        if not batch and wait_seconds > 0:
            with _arrived:
                _arrived.wait(wait_seconds)
            batch = self._claim(max_messages, lease_seconds)
        return batch

    def _claim(self, max_messages: int, lease_seconds: float) -> list[QueuedMessage]:
        with self._unit() as session:
            rows = queue_rows.claim(session, self.name, max_messages, utcnow(), timedelta(seconds=lease_seconds))
            return [QueuedMessage(r.body, str(r.id), r.receive_count, r.receipt or "") for r in rows]

    def delete(self, messages: Iterable[QueuedMessage]) -> None:
        self._by_receipt(messages, lambda session, ids, receipt: queue_rows.delete_received(session, ids, receipt))

    def extend(self, messages: Iterable[QueuedMessage], lease_seconds: float = LEASE_SECONDS) -> None:
        until = utcnow() + timedelta(seconds=lease_seconds)
        self._by_receipt(messages, lambda s, ids, receipt: queue_rows.set_visible_at(s, ids, receipt, until))

    def release(self, messages: Iterable[QueuedMessage], delay_seconds: float = 0.0) -> None:
        """Visible again after `delay_seconds` (a failed record, an interrupted delivery)."""
        at = utcnow() + timedelta(seconds=delay_seconds)
        self._by_receipt(messages, lambda s, ids, receipt: queue_rows.set_visible_at(s, ids, receipt, at))

    def dead_letter(self, messages: Iterable[QueuedMessage]) -> None:
        now = utcnow()
        self._by_receipt(messages, lambda s, ids, receipt: queue_rows.move(s, ids, receipt, self.dead_letter_name,
                                                                           now))

    def _by_receipt(self, messages: Iterable[QueuedMessage], action: Callable[[Session, list[str], str], Any]) -> None:
        by_receipt: dict[str, list[str]] = {}
        for m in messages:
            by_receipt.setdefault(m.receipt, []).append(m.message_id)
        if not by_receipt:
            return
        with self._unit() as session:
            for receipt, ids in by_receipt.items():
                action(session, ids, receipt)

    # -- inspection and operations ------------------------------------------------------------------
    @property
    def dead_letters(self) -> list[QueuedMessage]:
        with self._unit(write=False) as session:
            return [QueuedMessage(r.body, str(r.id), r.receive_count)
                    for r in queue_rows.messages(session, self.dead_letter_name)]

    def redrive_dead_letters(self) -> int:
        """Every dead letter back on the queue with a fresh receive count; returns how many."""
        with self._unit() as session:
            moved = queue_rows.redrive(session, self.dead_letter_name, self.name, utcnow())
        with _arrived:
            _arrived.notify_all()
        return moved

    def remove_dead_letters(self, message_ids: Iterable[str]) -> None:
        with self._unit() as session:
            queue_rows.delete_from(session, self.dead_letter_name, list(message_ids))

    def mentions(self, needles: Iterable[str]) -> set[str]:
        """Which of these ids (source ids) some queued or in-flight message names."""
        with self._unit(write=False) as session:
            return queue_rows.bodies_mentioning(session, self.name, list(needles))

    def __len__(self) -> int:
        with self._unit(write=False) as session:
            return queue_rows.depth(session, self.name)

    def clear(self) -> None:
        with self._unit() as session:
            queue_rows.purge_queue(session)


@lru_cache(maxsize=1)
def get_embedded_queue() -> EmbeddedQueue:
    return EmbeddedQueue()
