"""The embedded queue's SQL: the `queue_message` table used the way SQS keeps messages (visibility
deadline, receive count, a receipt per delivery, a dead-letter queue), so the local default loses
no accepted work to a crash or Ctrl-C.

A receive claims rows atomically: candidates are read, then claimed by an UPDATE that re-checks
visibility, so two workers never hold the same message (SQLite serialises writers with BEGIN
IMMEDIATE; on PostgreSQL the re-checked WHERE skips rows another transaction claimed first).
Candidates are taken round-robin across `group_id`s (the tenant): the first message of every group,
then the second of every group, ..., so one tenant's backlog never stands in front of another's
only message. None of these functions opens a transaction or commits: the caller does."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from minirag.db.models import QueueMessage


def send(session: Session, queue: str, messages: Iterable[tuple[str | None, str]], now: datetime) -> list[str]:
    """Add (group_id, body) messages, visible at once; returns their message ids."""
    ids = []
    for n, (group_id, body) in enumerate(messages):
        message_id = uuid.uuid4()
        sent = now + timedelta(microseconds=n)  # first in, first out within one publish too
        session.add(QueueMessage(id=message_id, queue=queue, group_id=group_id, body=body, receive_count=0,
                                 sent_at=sent, visible_at=now))
        ids.append(str(message_id))
    session.flush()
    return ids


def claim(session: Session, queue: str, max_messages: int, now: datetime, lease: timedelta) -> list[QueueMessage]:
    """Up to `max_messages` visible messages, round-robin across groups, now invisible until
    `now + lease`, their receive count up by one and a fresh receipt on each."""
    turn = func.row_number().over(partition_by=QueueMessage.group_id,
                                  order_by=(QueueMessage.sent_at, QueueMessage.id)).label("turn")
    ranked = (select(QueueMessage.id, QueueMessage.sent_at, turn)
              .where(QueueMessage.queue == queue, QueueMessage.visible_at <= now).subquery())
    candidates = list(session.scalars(
        select(ranked.c.id).order_by(ranked.c.turn, ranked.c.sent_at, ranked.c.id).limit(max_messages)))
    if not candidates:
        return []
    receipt = str(uuid.uuid4())
    session.execute(
        update(QueueMessage)
        .where(QueueMessage.id.in_(candidates), QueueMessage.queue == queue, QueueMessage.visible_at <= now)
        .values(visible_at=now + lease, receive_count=QueueMessage.receive_count + 1, receipt=receipt)
        .execution_options(synchronize_session=False))
    claimed = {m.id: m for m in session.scalars(select(QueueMessage).where(QueueMessage.receipt == receipt))}
    return [claimed[i] for i in candidates if i in claimed]  # in round-robin order


def delete_received(session: Session, message_ids: Iterable[str], receipt: str) -> None:
    """Acknowledge: delete these messages if this delivery (receipt) still holds them."""
    ids = [uuid.UUID(m) for m in message_ids]
    if ids:
        session.execute(delete(QueueMessage).where(QueueMessage.id.in_(ids), QueueMessage.receipt == receipt))


def delete_from(session: Session, queue: str, message_ids: Iterable[str]) -> None:
    """Delete these messages of a queue whoever holds them (dead letters that were redriven)."""
    ids = [uuid.UUID(m) for m in message_ids]
    if ids:
        session.execute(delete(QueueMessage).where(QueueMessage.queue == queue, QueueMessage.id.in_(ids)))


def set_visible_at(session: Session, message_ids: Iterable[str], receipt: str, visible_at: datetime) -> None:
    """Change visibility of messages this delivery holds: extend the lease (heartbeat) or make them
    visible again (a failed record, an interrupted batch)."""
    ids = [uuid.UUID(m) for m in message_ids]
    if ids:
        session.execute(update(QueueMessage).where(QueueMessage.id.in_(ids), QueueMessage.receipt == receipt)
                        .values(visible_at=visible_at).execution_options(synchronize_session=False))


def move(session: Session, message_ids: Iterable[str], receipt: str | None, to_queue: str, now: datetime) -> None:
    """Move messages (held by `receipt`, or any when None) to another queue, visible at once."""
    ids = [uuid.UUID(m) for m in message_ids]
    if not ids:
        return
    stmt = update(QueueMessage).where(QueueMessage.id.in_(ids))
    if receipt is not None:
        stmt = stmt.where(QueueMessage.receipt == receipt)
    session.execute(stmt.values(queue=to_queue, visible_at=now, receipt=None)
                    .execution_options(synchronize_session=False))


def redrive(session: Session, from_queue: str, to_queue: str, now: datetime) -> int:
    """Every message of `from_queue` back on `to_queue` with a fresh receive count (SQS's DLQ redrive)."""
    result = session.execute(update(QueueMessage).where(QueueMessage.queue == from_queue)
                             .values(queue=to_queue, receive_count=0, visible_at=now, receipt=None)
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def messages(session: Session, queue: str) -> list[QueueMessage]:
    """Every message of a queue, in flight or not, oldest first."""
    return list(session.scalars(select(QueueMessage).where(QueueMessage.queue == queue)
                                .order_by(QueueMessage.sent_at, QueueMessage.id)))


def depth(session: Session, queue: str) -> int:
    """Messages on the queue, visible or in flight (ApproximateNumberOfMessages + NotVisible)."""
    return int(session.scalar(select(func.count()).select_from(QueueMessage).where(QueueMessage.queue == queue))
               or 0)


def bodies_mentioning(session: Session, queue: str, needles: Iterable[str]) -> set[str]:
    """Which of `needles` (source ids) appear in some message body of the queue."""
    found = set()
    for needle in needles:
        stmt = select(QueueMessage.id).where(QueueMessage.queue == queue,
                                             QueueMessage.body.contains(needle, autoescape=True)).limit(1)
        if session.scalar(stmt) is not None:
            found.add(needle)
    return found


def purge_queue(session: Session, queue: str | None = None) -> None:
    """Delete every message (of one queue, or all): tests and `clear()`."""
    stmt = delete(QueueMessage)
    if queue is not None:
        stmt = stmt.where(QueueMessage.queue == queue)
    session.execute(stmt)
