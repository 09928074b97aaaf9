"""TenantScope and the session-wide safety net, on SQLite and PostgreSQL: unscoped ORM reads fail,
foreign ids are indistinguishable from missing ones, `add` stamps the tenant, and the composite
foreign keys stop a row from pointing at another tenant's row even when the code above is wrong."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from minirag.db.engine import get_session_factory
from minirag.db.models import ApiToken, BotProfile, Source, SourceStatus, SourceType, Tenant, User
from minirag.db.scope import TenantScope, UnscopedQueryError
from minirag.db.system import SystemRepository
from minirag.errors import NotFound


@pytest.fixture
def session():
    session = get_session_factory()()
    yield session
    session.rollback()
    session.close()


def _new_session():
    return get_session_factory()()


def _make_tenant(slug: str) -> uuid.UUID:
    """A tenant with one bot profile, written through the same paths the services use."""
    with _new_session() as s:
        tenant = SystemRepository(s).add_tenant(Tenant(id=uuid.uuid4(), name=slug, slug=slug))
        scope = TenantScope(s, tenant.id)
        scope.add(BotProfile(id=uuid.uuid4(), name=f"{slug} bot", model="local/extractive",
                             embedding_model="local/hash"))
        scope.commit()
        return tenant.id


def _bot_id(tenant_id: uuid.UUID) -> uuid.UUID:
    with _new_session() as s:
        scope = TenantScope(s, tenant_id)
        return scope.scalars(scope.select(BotProfile))[0].id


@pytest.fixture
def tenants() -> tuple[uuid.UUID, uuid.UUID]:
    return _make_tenant("scope-a"), _make_tenant("scope-b")


# -- the safety net ------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [BotProfile, Source, ApiToken, User])
def test_unscoped_orm_select_raises_unscoped_query_error(session, tenants, model):
    # Given a plain session with no tenant bound
    # When it runs an ORM SELECT on a tenant-owned model
    # Then the safety net refuses it
    with pytest.raises(UnscopedQueryError):
        session.execute(select(model)).all()


def test_unscoped_legacy_query_and_session_get_raise(session, tenants):
    # Given a plain session and a real bot id
    bot_id = _bot_id(tenants[0])

    # When the legacy Query API or Session.get loads a tenant-owned row
    # Then both are refused
    with pytest.raises(UnscopedQueryError):
        session.query(BotProfile).all()
    with pytest.raises(UnscopedQueryError):
        session.get(BotProfile, bot_id)


def test_unscoped_orm_update_and_delete_raise(session, tenants):
    # Given a plain session
    # When it runs an ORM UPDATE or DELETE on a tenant-owned model
    # Then both are refused, and nothing changed
    with pytest.raises(UnscopedQueryError):
        session.execute(update(BotProfile).values(name="everyone's"))
    session.rollback()
    with pytest.raises(UnscopedQueryError):
        session.execute(delete(Source))
    session.rollback()
    with _new_session() as s:
        assert TenantScope(s, tenants[0]).get(BotProfile, _bot_id(tenants[0])).name == "scope-a bot"


def test_select_on_non_tenant_model_is_allowed_unscoped(session, tenants):
    # Given a plain session
    # When it reads the tenant table itself (not tenant-owned)
    rows = session.execute(select(Tenant.slug)).scalars().all()

    # Then that is allowed
    assert set(rows) >= {"scope-a", "scope-b"}


def test_raw_select_through_scope_is_filtered_to_its_tenant(tenants):
    # Given two tenants with a bot each
    a, b = tenants

    # When a hand-built SELECT without a tenant filter runs through A's scope
    with _new_session() as s:
        names = TenantScope(s, a).execute(select(BotProfile.name)).scalars().all()
        bots = TenantScope(s, a).scalars(select(BotProfile))

    # Then the safety net adds the filter: only A's rows come back
    assert names == ["scope-a bot"]
    assert [bot.tenant_id for bot in bots] == [a]


def test_bulk_update_through_scope_touches_only_its_tenant(tenants):
    # Given two tenants with a bot each
    a, b = tenants

    # When A's scope runs an UPDATE without a tenant filter
    with _new_session() as s:
        scope = TenantScope(s, a)
        scope.execute(update(BotProfile).values(name="renamed"))
        scope.commit()

    # Then only A's bot changed
    with _new_session() as s:
        assert TenantScope(s, a).get(BotProfile, _bot_id(a)).name == "renamed"
    with _new_session() as s:
        assert TenantScope(s, b).get(BotProfile, _bot_id(b)).name == "scope-b bot"


def test_scope_refuses_rebinding_session_to_another_tenant(session, tenants):
    # Given a session bound to tenant A
    TenantScope(session, tenants[0])

    # When a scope for tenant B is built on the same session
    # Then it is refused
    with pytest.raises(RuntimeError):
        TenantScope(session, tenants[1])


def test_scope_requires_uuid_tenant(session):
    # Given a tenant id that is not a UUID (e.g. straight from a header)
    # When a scope is built
    # Then it is refused
    with pytest.raises(TypeError):
        TenantScope(session, "not-a-uuid")  # type: ignore[arg-type]


# -- get / require_ref -----------------------------------------------------------------------------

def test_get_foreign_id_raises_not_found_identical_to_missing(tenants):
    # Given tenant B's bot
    a, b = tenants
    b_bot = _bot_id(b)

    # When A's scope gets B's bot, and a random id
    with _new_session() as s:
        scope = TenantScope(s, a)
        with pytest.raises(NotFound) as foreign:
            scope.get(BotProfile, b_bot)
        with pytest.raises(NotFound) as missing:
            scope.get(BotProfile, uuid.uuid4())

    # Then both errors are the same
    assert foreign.value.to_body() == missing.value.to_body()
    assert (foreign.value.status_code, foreign.value.code) == (404, "not_found")


def test_get_foreign_id_is_not_answered_from_identity_map(tenants):
    # Given a session that has B's bot loaded in its identity map (through B's scope) ...
    a, b = tenants
    b_bot = _bot_id(b)
    with _new_session() as s:
        loaded = TenantScope(s, b).get(BotProfile, b_bot)
        assert loaded.tenant_id == b
        # ... and is then (wrongly) reused for A after clearing the binding
        s.info.pop("tenant_id")
        scope_a = TenantScope(s, a)

        # When A's scope gets B's bot id
        # Then it is still NotFound: get runs a filtered SELECT, not Session.get
        with pytest.raises(NotFound):
            scope_a.get(BotProfile, b_bot)


def test_get_malformed_id_raises_not_found(tenants):
    # Given a string that is not a UUID
    # When it is looked up
    # Then it is the same NotFound as a missing id
    with _new_session() as s:
        with pytest.raises(NotFound):
            TenantScope(s, tenants[0]).get(BotProfile, "nope")


def test_require_ref_foreign_id_names_the_field(tenants):
    # Given B's bot
    a, b = tenants

    # When A's scope requires it as a body reference
    with _new_session() as s:
        with pytest.raises(NotFound) as raised:
            TenantScope(s, a).require_ref(BotProfile, _bot_id(b), field="bot_profile_id")

    # Then the 404 names the field
    assert raised.value.details == [{"field": "bot_profile_id", "reason": "bot profile not found"}]


def test_get_active_only_hides_deactivated_rows(tenants):
    # Given A's bot, deactivated
    a, _ = tenants
    bot_id = _bot_id(a)
    with _new_session() as s:
        scope = TenantScope(s, a)
        scope.get(BotProfile, bot_id).is_active = False
        scope.commit()

    # When it is read with and without active_only
    with _new_session() as s:
        scope = TenantScope(s, a)
        assert scope.get(BotProfile, bot_id).is_active is False
        # Then active_only treats it as missing
        with pytest.raises(NotFound):
            scope.get(BotProfile, bot_id, active_only=True)


# -- writes ------------------------------------------------------------------------------------------

def test_add_stamps_tenant_id(tenants):
    # Given A's scope and a bot that claims to belong to B
    a, b = tenants
    with _new_session() as s:
        scope = TenantScope(s, a)
        bot = BotProfile(id=uuid.uuid4(), tenant_id=b, name="stamped", model="m", embedding_model="e")

        # When it is added through A's scope
        scope.add(bot)
        scope.commit()
        bot_id = bot.id

    # Then it belongs to A (and B cannot see it)
    with _new_session() as s:
        assert TenantScope(s, a).get(BotProfile, bot_id).tenant_id == a
    with _new_session() as s:
        with pytest.raises(NotFound):
            TenantScope(s, b).get(BotProfile, bot_id)


def test_composite_foreign_key_rejects_source_pointing_at_other_tenants_bot(tenants):
    # Given B's bot id
    a, b = tenants
    b_bot = _bot_id(b)

    # When A's scope inserts a source pointing at it (skipping require_ref, as a buggy service might)
    with _new_session() as s:
        scope = TenantScope(s, a)
        scope.add(Source(id=uuid.uuid4(), bot_profile_id=b_bot, name="cross", source_type=SourceType.text,
                         content="x", status=SourceStatus.pending))

        # Then the database refuses it
        with pytest.raises(IntegrityError):
            scope.commit()
        scope.rollback()

    # And no source exists for either tenant
    with _new_session() as s:
        assert TenantScope(s, a).count(Source) == 0
    with _new_session() as s:
        assert TenantScope(s, b).count(Source) == 0


def test_composite_foreign_key_rejects_api_token_for_other_tenants_user(tenants):
    # Given a user of tenant B
    a, b = tenants
    with _new_session() as s:
        scope = TenantScope(s, b)
        user = scope.add(User(id=uuid.uuid4(), email="u@b.example.com", password_hash="x"))
        scope.commit()
        user_id = user.id

    # When A's scope inserts an API token for B's user
    with _new_session() as s:
        scope = TenantScope(s, a)
        scope.add(ApiToken(id=uuid.uuid4(), user_id=user_id, name="cross", prefix="mrg_x", token_hash="0" * 64))

        # Then the database refuses it
        with pytest.raises(IntegrityError):
            scope.commit()


def test_page_returns_each_row_once_across_pages(tenants):
    # Given 5 more bots of tenant A
    a, _ = tenants
    with _new_session() as s:
        scope = TenantScope(s, a)
        for i in range(5):
            scope.add(BotProfile(id=uuid.uuid4(), name=f"bot {i}", model="m", embedding_model="e"))
        scope.commit()

    # When A's bots are paged 2 at a time
    seen, cursor = [], None
    with _new_session() as s:
        scope = TenantScope(s, a)
        while True:
            page = scope.page(BotProfile, limit=2, cursor=cursor)
            seen += [b.id for b in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break

    # Then all 6 appear once
    assert len(seen) == len(set(seen)) == 6


def test_page_breaks_created_at_ties_by_id(tenants):
    # Given 5 bots of tenant A created in the same microsecond
    from datetime import datetime, timezone

    a, _ = tenants
    same_instant = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    with _new_session() as s:
        scope = TenantScope(s, a)
        for i in range(5):
            scope.add(BotProfile(id=uuid.uuid4(), name=f"tied {i}", model="m", embedding_model="e",
                                 created_at=same_instant))
        scope.commit()

    # When they are paged 2 at a time
    seen, cursor = [], None
    with _new_session() as s:
        scope = TenantScope(s, a)
        while True:
            page = scope.page(BotProfile, limit=2, cursor=cursor, created_at=same_instant)
            seen += [b.id for b in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break

    # Then each appears exactly once, in descending id order
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, reverse=True)
