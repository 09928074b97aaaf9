"""Per-tenant limits through the real handlers: requests per minute per token, chat turns and model
tokens per day, ingested documents and chunks per day, stored chunks, sources, bots and tokens.
The operator sets them per tenant with `minirag set-limits`; the tenant sees them on /v1/tenants/me."""

from __future__ import annotations

import pytest

from tests.assertions import assert_error
from tests.conftest import operator, reset_caches
from tests.factories import make_bot_profile, make_ingested_source, make_source
from tests.integration.ingest.support import get_source, request_ingest

HANDBOOK = "# Hours\n\nThe office opens at nine and closes at five. Refunds take fourteen days."


def set_limits(tenant, *limits: str) -> None:
    code, out, err = operator("set-limits", tenant.slug, *limits)
    assert code == 0, (out, err)


def assert_limit_error(response, name: str, code: str = "limit_exceeded") -> dict:
    """A 429 naming the limit, with Retry-After and the RateLimit headers."""
    error = assert_error(response, 429, code, field=name)
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-remaining"] == "0"
    assert int(response.headers["ratelimit-limit"]) >= 0
    assert "ratelimit-reset" in response.headers
    return error


# -- requests per minute per token ------------------------------------------------------------------

def test_requests_past_the_per_minute_limit_return_429_with_rate_limit_headers(api, tenant_a, clock):
    # Given tenant A may make 3 requests a minute per token
    set_limits(tenant_a, "requests_per_minute=3")

    # When its token makes 4 requests within one minute
    responses = [api.get("/v1/bot-profiles", token=tenant_a.token) for _ in range(4)]

    # Then the first 3 pass, counting down RateLimit-Remaining, and the 4th is a 429 naming the limit
    assert [r.status for r in responses[:3]] == [200, 200, 200]
    assert [r.headers["ratelimit-remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert responses[0].headers["ratelimit-policy"].startswith("3;w=60")
    error = assert_limit_error(responses[3], "requests_per_minute", code="rate_limited")
    assert "requests_per_minute" in error["message"]
    assert responses[3].headers["ratelimit-limit"] == "3"
    assert responses[3].headers["retry-after"] == "50"  # the clock stands at hh:mm:10
    assert responses[3].headers["ratelimit-policy"].startswith("3;w=60")


def test_request_counts_hold_across_containers(api, tenant_a, clock):
    # Given tenant A may make 2 requests a minute, and one container served 2 of them
    set_limits(tenant_a, "requests_per_minute=2")
    assert api.get("/v1/bot-profiles", token=tenant_a.token).status == 200
    assert api.get("/v1/bot-profiles", token=tenant_a.token).status == 200

    # When a fresh container (new engine, settings and caches) serves the next one
    reset_caches()
    response = api.get("/v1/bot-profiles", token=tenant_a.token)

    # Then it is still refused: the count lives in the database, not in a process
    assert_limit_error(response, "requests_per_minute", code="rate_limited")


def test_each_token_has_its_own_minute_and_the_next_minute_starts_afresh(api, tenant_a, tenant_b, clock):
    # Given tenant A's first token used its 2 requests this minute
    set_limits(tenant_a, "requests_per_minute=2")
    second = api.post("/v1/api-tokens", {"name": "ci"}, token=tenant_a.token)
    assert second.status == 201, second.body
    api.get("/v1/bot-profiles", token=tenant_a.token)
    assert_limit_error(api.get("/v1/bot-profiles", token=tenant_a.token), "requests_per_minute", "rate_limited")

    # When another token of A, tenant B, and (a minute later) the first token ask
    other_token = api.get("/v1/bot-profiles", token=second.json["raw_token"])
    other_tenant = api.get("/v1/bot-profiles", token=tenant_b.token)
    clock.advance(60)
    next_minute = api.get("/v1/bot-profiles", token=tenant_a.token)

    # Then all three are served
    assert (other_token.status, other_tenant.status, next_minute.status) == (200, 200, 200)


# -- what the tenant sees -------------------------------------------------------------------------------

def test_get_me_shows_the_tenants_limits_and_usage(api, tenant_a, tenant_b):
    # Given the operator gave tenant A 7 bots, and A has one bot
    set_limits(tenant_a, "bots=7")
    make_bot_profile(api, tenant_a)

    # When A and B look at /v1/tenants/me
    mine = api.get("/v1/tenants/me", token=tenant_a.token).json
    theirs = api.get("/v1/tenants/me", token=tenant_b.token).json

    # Then A sees its own limit and usage; B keeps the default
    assert mine["limits"]["bots"] == 7 and mine["usage"]["bots"] == 1
    assert mine["usage"]["tokens"] == 1  # the bootstrap token
    assert set(mine["limits"]) >= {"requests_per_minute", "chat_turns_per_day", "model_tokens_per_day",
                                   "ingest_documents_per_day", "ingest_chunks_per_day", "stored_chunks",
                                   "sources", "bots", "tokens"}
    assert theirs["limits"]["bots"] == 50 and theirs["usage"]["bots"] == 0


def test_set_limits_default_restores_the_setting_and_unknown_names_are_refused(api, tenant_a):
    # Given tenant A has 7 bots allowed
    set_limits(tenant_a, "bots=7")

    # When the operator restores the default, then names a limit that does not exist
    set_limits(tenant_a, "bots=default")
    code, _, err = operator("set-limits", tenant_a.slug, "bananas=3")

    # Then A is back at the default and the unknown limit is an error naming it
    assert api.get("/v1/tenants/me", token=tenant_a.token).json["limits"]["bots"] == 50
    assert code == 1 and "bananas" in err


def test_set_limits_for_an_unknown_tenant_fails():
    # Given no tenant "nobody"
    # When the operator sets its limits
    code, _, err = operator("set-limits", "nobody", "bots=1")

    # Then it fails and says so
    assert code == 1 and "tenant not found" in err


# -- counts: bots, sources, tokens ---------------------------------------------------------------------

def test_creating_a_bot_past_the_bot_limit_returns_429_naming_bots(api, tenant_a, tenant_b):
    # Given tenant A may have 2 bots and has 2
    set_limits(tenant_a, "bots=2")
    make_bot_profile(api, tenant_a)
    make_bot_profile(api, tenant_a)

    # When it creates a third
    response = api.post("/v1/bot-profiles", {"name": "Third"}, token=tenant_a.token)

    # Then it is refused naming the limit, nothing was created, and tenant B is not affected
    assert_limit_error(response, "bots")
    assert len(api.get("/v1/bot-profiles", token=tenant_a.token).json) == 2
    make_bot_profile(api, tenant_b)
    make_bot_profile(api, tenant_b)
    make_bot_profile(api, tenant_b)


def test_deactivating_a_bot_frees_its_slot(api, tenant_a):
    # Given tenant A is at its limit of one bot
    set_limits(tenant_a, "bots=1")
    bot = make_bot_profile(api, tenant_a)

    # When it deactivates that bot and creates another
    assert api.delete(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).status == 204
    response = api.post("/v1/bot-profiles", {"name": "Replacement"}, token=tenant_a.token)

    # Then the new one is created
    assert response.status == 201, response.body


def test_creating_a_source_past_the_source_limit_returns_429_naming_sources(api, tenant_a):
    # Given tenant A may have one source and has one
    set_limits(tenant_a, "sources=1")
    bot = make_bot_profile(api, tenant_a)
    make_source(api, tenant_a, bot["id"])

    # When it creates another
    response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "Second", "source_type": "text",
                                        "content": "More."}, token=tenant_a.token)

    # Then it is refused naming the limit
    assert_limit_error(response, "sources")


def test_creating_an_api_token_past_the_token_limit_returns_429_naming_tokens(api, tenant_a):
    # Given tenant A may have 2 live tokens and has its bootstrap token and one more
    set_limits(tenant_a, "tokens=2")
    created = api.post("/v1/api-tokens", {"name": "ci"}, token=tenant_a.token)
    assert created.status == 201, created.body

    # When it creates a third, and again after revoking one
    refused = api.post("/v1/api-tokens", {"name": "more"}, token=tenant_a.token)
    assert api.delete(f"/v1/api-tokens/{created.json['id']}", token=tenant_a.token).status == 204
    after_revoke = api.post("/v1/api-tokens", {"name": "more"}, token=tenant_a.token)

    # Then the third is refused naming the limit, and a revoked token frees its slot
    assert_limit_error(refused, "tokens")
    assert after_revoke.status == 201, after_revoke.body


# -- chat turns and model tokens per day ----------------------------------------------------------------

def test_chat_turns_past_the_daily_limit_return_429_until_the_next_day(api, tenant_a, ingest_worker, clock):
    # Given tenant A may have 2 chat turns a day and a bot with an ingested source
    set_limits(tenant_a, "chat_turns_per_day=2")
    bot = make_bot_profile(api, tenant_a)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content=HANDBOOK)

    # When it asks three times today, then once tomorrow
    ask = {"bot_profile_id": bot["id"], "message": "When does the office open?"}
    today = [api.post("/v1/chat", ask, token=tenant_a.token) for _ in range(3)]
    streamed = api.post("/v1/chat", {**ask, "stream": True}, token=tenant_a.token)
    clock.advance(86400)
    tomorrow = api.post("/v1/chat", ask, token=tenant_a.token)

    # Then two turns are answered, the third (streamed or not) is a 429 naming the limit before any
    # model call, with Retry-After until midnight UTC; tomorrow it works again
    assert [r.status for r in today[:2]] == [200, 200]
    assert_limit_error(today[2], "chat_turns_per_day")
    assert today[2].headers["retry-after"] == str(12 * 3600 - 10)
    assert_limit_error(streamed, "chat_turns_per_day")
    assert tomorrow.status == 200, tomorrow.body


def test_chat_is_refused_once_the_days_model_tokens_are_spent(api, tenant_a, ingest_worker, clock):
    # Given tenant A may spend 1 model token a day, and a bot with an ingested source
    set_limits(tenant_a, "model_tokens_per_day=1")
    bot = make_bot_profile(api, tenant_a)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content=HANDBOOK)
    ask = {"bot_profile_id": bot["id"], "message": "When does the office open?"}

    # When a first turn spends more than that, and a second turn is asked
    first = api.post("/v1/chat", ask, token=tenant_a.token)
    second = api.post("/v1/chat", ask, token=tenant_a.token)

    # Then the first was answered (its tokens counted after it), the second is refused naming the limit
    assert first.status == 200, first.body
    assert first.json["usage"]["total_tokens"] > 1
    assert_limit_error(second, "model_tokens_per_day")
    me = api.get("/v1/tenants/me", token=tenant_a.token).json
    assert me["usage"]["model_tokens_per_day"] == first.json["usage"]["total_tokens"]
    assert me["usage"]["chat_turns_per_day"] == 1  # the refused turn is not counted


# -- ingest: per day and stored ------------------------------------------------------------------------

def test_ingest_past_the_daily_chunk_limit_fails_the_source_with_the_limits_reason(api, tenant_a, ingest_worker,
                                                                                   clock):
    # Given tenant A may ingest 2 chunks a day, and a source of many chunks
    set_limits(tenant_a, "ingest_chunks_per_day=2")
    bot = make_bot_profile(api, tenant_a, chunk_tokens=50, chunk_overlap_tokens=0)
    source = make_source(api, tenant_a, bot["id"], content="\n\n".join(f"Paragraph {i}. " + "word " * 60
                                                                        for i in range(6)))

    # When it is ingested
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()

    # Then the source failed with a reason naming the limit, and nothing was counted or stored
    failed = get_source(api, tenant_a, source["id"])
    assert failed["status"] == "error", failed
    assert "ingest_chunks_per_day" in failed["last_error"] and "resets at" in failed["last_error"]
    me = api.get("/v1/tenants/me", token=tenant_a.token).json
    assert me["usage"]["ingest_chunks_per_day"] == 0 and me["usage"]["stored_chunks"] == 0


def test_ingest_counts_documents_and_chunks_and_refuses_once_the_day_is_spent(api, tenant_a, ingest_worker,
                                                                               clock):
    # Given tenant A may ingest one document a day and ingested one today
    set_limits(tenant_a, "ingest_documents_per_day=1")
    bot = make_bot_profile(api, tenant_a)
    make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content=HANDBOOK)
    other = make_source(api, tenant_a, bot["id"], content="Another text.")

    # When it asks to ingest another source
    response = api.post(f"/v1/sources/{other['id']}/ingest", token=tenant_a.token)

    # Then the request is a 429 naming the limit, and the day's usage shows the one document
    assert_limit_error(response, "ingest_documents_per_day")
    assert api.get("/v1/tenants/me", token=tenant_a.token).json["usage"]["ingest_documents_per_day"] == 1


def test_stored_chunk_limit_refuses_ingest_but_not_a_reingest_of_the_same_source(api, tenant_a, ingest_worker,
                                                                                   clock):
    # Given tenant A may store as many chunks as its one ingested source holds
    bot = make_bot_profile(api, tenant_a)
    ready = make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content=HANDBOOK)
    set_limits(tenant_a, f"stored_chunks={ready['progress']['chunks']}")
    other = make_source(api, tenant_a, bot["id"], content="Another text.")

    # When it ingests another source, and re-ingests the first
    refused = api.post(f"/v1/sources/{other['id']}/ingest", token=tenant_a.token)
    again = api.post(f"/v1/sources/{ready['id']}/ingest", token=tenant_a.token)
    ingest_worker.drain()

    # Then the new source is refused naming the limit; the re-ingest (which replaces) goes through
    assert_limit_error(refused, "stored_chunks")
    assert again.status == 202, again.body
    assert get_source(api, tenant_a, ready["id"])["status"] == "ready"


def test_stored_chunk_limit_fails_a_source_that_would_pass_it(api, tenant_a, ingest_worker, clock):
    # Given tenant A may store 1 chunk, and a source of several
    set_limits(tenant_a, "stored_chunks=1")
    bot = make_bot_profile(api, tenant_a, chunk_tokens=50, chunk_overlap_tokens=0)
    source = make_source(api, tenant_a, bot["id"], content="\n\n".join("word " * 60 for _ in range(4)))

    # When it is ingested
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()

    # Then it failed with the limit's reason
    failed = get_source(api, tenant_a, source["id"])
    assert failed["status"] == "error" and "stored_chunks" in failed["last_error"], failed


@pytest.mark.parametrize("limit", ["sources=0", "bots=0"])
def test_a_zero_limit_refuses_every_creation(api, tenant_a, limit):
    # Given the operator set a limit to 0
    set_limits(tenant_a, limit)
    name = limit.split("=")[0]

    # When tenant A creates that kind of thing
    if name == "bots":
        response = api.post("/v1/bot-profiles", {"name": "One"}, token=tenant_a.token)
    else:
        set_limits(tenant_a, "bots=default")
        bot = make_bot_profile(api, tenant_a)
        response = api.post("/v1/sources", {"bot_profile_id": bot["id"], "name": "S", "source_type": "text",
                                            "content": "x"}, token=tenant_a.token)

    # Then it is refused naming the limit
    assert_limit_error(response, name)


def test_racing_creations_cannot_both_take_the_last_bot_slot(api, tenant_a):
    # Given tenant A may have one bot, and has none
    import threading

    set_limits(tenant_a, "bots=1")
    statuses: list[int] = []

    def create(name: str) -> None:
        statuses.append(api.post("/v1/bot-profiles", {"name": name}, token=tenant_a.token).status)

    # When six creations run at once
    threads = [threading.Thread(target=create, args=(f"bot {i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one is created and the others are refused
    assert sorted(statuses) == [201] + [429] * 5
    assert len(api.get("/v1/bot-profiles", token=tenant_a.token).json) == 1
