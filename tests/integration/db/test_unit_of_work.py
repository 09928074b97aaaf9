"""The visible unit of work: `read()` takes no write lock on SQLite and keeps what it read loaded,
`write()` commits or rolls back as one, nested blocks join, and repositories never commit."""

from __future__ import annotations

import uuid

import pytest

from minirag.db.engine import get_session_factory
from minirag.db.models import ApiToken, BotProfile, Tenant, User
from minirag.db.scope import TenantScope, UniqueViolation
from minirag.db.system import SystemRepository
from tests.assertions import sqlite_write_lock_taken


@pytest.fixture
def tenant_id() -> uuid.UUID:
    with get_session_factory()() as s:
        system = SystemRepository(s)
        with system.write():
            tenant = system.add_tenant(Tenant(id=uuid.uuid4(), name="uow", slug="uow"))
            system.tenant_scope(tenant.id).add(
                BotProfile(id=uuid.uuid4(), name="uow bot", model="m", embedding_model="e"))
        return tenant.id


def _bot(scope: TenantScope) -> BotProfile:
    return scope.scalars(scope.select(BotProfile))[0]


def test_read_takes_no_write_lock_and_write_does(database_url, tenant_id):
    if not database_url.startswith("sqlite"):
        pytest.skip("the write lock is SQLite's")
    # Given a scope
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        # When it reads, the write lock stays free; when it writes, the lock is held
        with scope.read():
            _bot(scope)
            assert not sqlite_write_lock_taken(database_url)
        with scope.write():
            assert sqlite_write_lock_taken(database_url)
        # Then neither leaves a transaction open
        assert not s.in_transaction()
        assert not sqlite_write_lock_taken(database_url)


def test_rows_read_stay_loaded_after_the_read(tenant_id):
    # Given a bot read inside read()
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        with scope.read():
            bot = _bot(scope)
        # When its attributes are used after the block
        name = bot.name
        # Then no new transaction was opened to reload them
        assert name == "uow bot"
        assert not s.in_transaction()


def test_write_commits_on_success_and_rolls_back_on_error(tenant_id):
    # Given a scope that renames the bot, once successfully and once failing halfway
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        with scope.write():
            _bot(scope).name = "renamed"
        with pytest.raises(LookupError):
            with scope.write():
                _bot(scope).name = "lost"
                raise LookupError("halfway")
    # Then only the successful write is stored
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        with scope.read():
            assert _bot(scope).name == "renamed"


def test_read_with_pending_changes_raises_and_writes_nothing(tenant_id):
    # Given a read block that (wrongly) changes a row
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        with pytest.raises(RuntimeError, match="pending changes"):
            with scope.read():
                _bot(scope).name = "sneaky"
    # Then the change was not committed
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        with scope.read():
            assert _bot(scope).name == "uow bot"


def test_nested_blocks_join_and_write_inside_read_raises(tenant_id):
    # Given a write block with a nested read and write
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        with scope.write():
            with scope.read():
                bot = _bot(scope)
            with scope.write():
                bot.name = "nested"
            assert s.in_transaction()  # the nested blocks did not end the outer transaction
        # When a write is opened inside a read, it is refused
        with pytest.raises(RuntimeError, match="inside read"):
            with scope.read():
                with scope.write():
                    pass
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        with scope.read():
            assert _bot(scope).name == "nested"


def test_unit_of_work_refuses_an_already_open_transaction(tenant_id):
    # Given a session with an implicit transaction open
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        _bot(scope)
        # When a unit of work starts on it, it is refused (the boundary would be a lie)
        with pytest.raises(RuntimeError, match="already open"):
            with scope.read():
                pass


def test_unique_violation_is_raised_from_write(tenant_id):
    # Given a tenant slug already taken
    # When a second tenant with that slug is written
    with get_session_factory()() as s:
        system = SystemRepository(s)
        with pytest.raises(UniqueViolation):
            with system.write():
                system.add_tenant(Tenant(id=uuid.uuid4(), name="again", slug="uow"))
        # Then the session is usable again
        assert not s.in_transaction()


def test_touch_token_does_not_commit(tenant_id):
    # Given a user with an API token that was never used
    with get_session_factory()() as s:
        system = SystemRepository(s)
        with system.write():
            scope = system.tenant_scope(tenant_id)
            user = scope.add(User(id=uuid.uuid4(), email="t@uow.example.com", password_hash="x"))
            s.flush()
            token = scope.add(ApiToken(id=uuid.uuid4(), user_id=user.id, name="t", prefix="mrg_t",
                                       token_hash="1" * 64))
    # When the repository touches it outside a write() and the transaction is then abandoned
    with get_session_factory()() as s:
        system = SystemRepository(s)
        assert system.touch_due(token, system.now())
        system.touch_token(token, system.now())
        s.rollback()
    # Then nothing was stored: the unit of work, not the repository, commits
    with get_session_factory()() as s:
        scope = TenantScope(s, tenant_id)
        with scope.read():
            assert scope.get(ApiToken, token.id).last_used_at is None
