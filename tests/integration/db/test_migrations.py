"""Migrations on a database with rows in it: 0002 (emails unique per tenant) recreates user_account
on SQLite; no row that references it (API tokens) may go with the old table."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from minirag.db.migrate import upgrade


def test_upgrade_to_head_keeps_users_and_their_tokens(tmp_path):
    # Given a SQLite database at 0001 with a tenant, a user and the user's API token
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    engine = sa.create_engine(url)
    tenant, user, token = (uuid.uuid4().hex for _ in range(3))
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.exec_driver_sql("INSERT INTO tenant VALUES ('n', 's', 1, ?, '2026-01-01', '2026-01-01')", (tenant,))
        conn.exec_driver_sql("INSERT INTO user_account (email, password_hash, role, is_active, tenant_id, id, "
                             "created_at, updated_at) VALUES ('a@b.example', 'h', 'owner', 1, ?, ?, '2026-01-01', "
                             "'2026-01-01')", (tenant, user))
        conn.exec_driver_sql("INSERT INTO api_token (user_id, name, prefix, token_hash, tenant_id, id, created_at, "
                             "updated_at) VALUES (?, 'n', 'p', 'h', ?, ?, '2026-01-01', '2026-01-01')",
                             (user, tenant, token))

    # When it is migrated to the head
    upgrade(url)

    # Then the user and the token are still there, and the same email may now sign up in another tenant
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM api_token").scalar_one() == 1
        assert conn.exec_driver_sql("SELECT count(*) FROM user_account").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").first() is None
        indexes = {ix["name"]: ix for ix in sa.inspect(conn).get_unique_constraints("user_account")}
        assert "uq_user_account_tenant_id_email" in indexes and "uq_user_account_email" not in indexes
    engine.dispose()


def test_upgrade_to_head_keeps_messages_unrated_and_refuses_unknown_feedback(tmp_path):
    # Given a SQLite database at 0002_queue with a chat and its two messages
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    upgrade(url, "0002_queue")
    engine = sa.create_engine(url)
    tenant, bot, chat = (uuid.uuid4().hex for _ in range(3))
    stamps = "'2026-01-01', '2026-01-01'"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO tenant (name, slug, is_active, id, created_at, updated_at) "
                             f"VALUES ('n', 's', 1, ?, {stamps})", (tenant,))
        conn.exec_driver_sql(f"INSERT INTO bot_profile (name, system_prompt, model, temperature, max_tokens, "
                             f"embedding_model, chunk_tokens, chunk_overlap_tokens, top_k, min_score, no_answer_text, "
                             f"history_turns, is_active, tenant_id, id, created_at, updated_at) VALUES ('b', '', 'm', "
                             f"0.2, 512, 'e', 200, 40, 5, 0, 'no', 6, 1, ?, ?, {stamps})", (tenant, bot))
        conn.exec_driver_sql(f"INSERT INTO chat (bot_profile_id, title, message_count, prompt_tokens, "
                             f"completion_tokens, total_tokens, tenant_id, id, created_at, updated_at) "
                             f"VALUES (?, 't', 2, 0, 0, 0, ?, ?, {stamps})", (bot, tenant, chat))
        for role in ("user", "assistant"):
            conn.exec_driver_sql(f"INSERT INTO message (chat_id, role, content, citations, prompt_tokens, "
                                 f"completion_tokens, tenant_id, id, created_at, updated_at) "
                                 f"VALUES (?, ?, 'x', '[]', 0, 0, ?, ?, {stamps})",
                                 (chat, role, tenant, uuid.uuid4().hex))

    # When it is migrated to the head
    upgrade(url)

    # Then both messages are still there, unrated, and the database refuses a rating it does not know
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT feedback, feedback_comment FROM message").all() == [(None, None)] * 2
        with pytest.raises(sa.exc.IntegrityError):
            conn.exec_driver_sql("UPDATE message SET feedback = 'meh'")
    engine.dispose()


def test_head_has_the_stats_indexes_the_models_declare(database_url):
    # Given the test database, migrated to head on this backend
    from minirag.db import models

    engine = sa.create_engine(database_url)
    inspector = sa.inspect(engine)

    # Then usage_event and message carry the indexes the stats queries use, as the models name them
    for table in (models.UsageEvent.__table__, models.Message.__table__):
        migrated = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes(table.name)
                    if not ix["name"].startswith("uq_")}  # PostgreSQL lists unique constraints too
        declared = {ix.name: [c.name for c in ix.columns] for ix in table.indexes}
        assert migrated == declared, table.name
    assert "ix_usage_event_stats" in {ix["name"] for ix in inspector.get_indexes("usage_event")}
    engine.dispose()
