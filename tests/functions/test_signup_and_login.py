"""Sign-up and login under attack, through the real handlers: failed logins are throttled per account
and per client address with a growing back-off; SIGNUP=open|invite|closed decides who may create a
tenant (the operator always can, with `minirag create-tenant`); and sign-up does not tell whether
an email is registered (emails are unique per tenant; login finds the account by its password)."""

from __future__ import annotations

import pytest

from minirag.settings import get_settings
from tests.assertions import assert_error
from tests.conftest import bootstrap_tenant, operator


def _login(api, email, password, *, ip="198.51.100.7", **extra):
    return api.post("/v1/auth/token", {"email": email, "password": password, **extra}, source_ip=ip)


def _signup(api, slug, email="owner@shared.example.com", password="pw-shared-correct-horse", **extra):
    return api.post("/v1/tenants", {"tenant_name": slug.title(), "tenant_slug": slug, "owner_email": email,
                                    "owner_password": password, **extra})


@pytest.fixture
def signup(monkeypatch):
    def set_policy(policy: str) -> None:
        monkeypatch.setenv("SIGNUP", policy)
        get_settings.cache_clear()

    return set_policy


# -- login throttle -------------------------------------------------------------------------------------

def test_failed_logins_are_throttled_per_account_with_a_growing_back_off(api, tenant_a, clock):
    # Given 5 wrong passwords for tenant A's owner
    wrong = [_login(api, tenant_a.owner_email, f"guess-{i}") for i in range(5)]

    # When a 6th attempt comes at once, even with the right password
    throttled = _login(api, tenant_a.owner_email, tenant_a.owner_password)

    # Then the 5 were plain 401s, and the 6th is a 429 naming the account, with Retry-After 30 s
    assert [r.status for r in wrong] == [401] * 5
    assert_error(throttled, 429, "login_throttled", field="email")
    assert throttled.headers["retry-after"] == "30"
    assert throttled.headers["ratelimit-remaining"] == "0"
    # And after 30 s one more guess is allowed; a wrong one doubles the wait to 60 s
    clock.advance(30)
    assert _login(api, tenant_a.owner_email, "guess-6").status == 401
    again = _login(api, tenant_a.owner_email, tenant_a.owner_password)
    assert_error(again, 429, "login_throttled", field="email")
    assert again.headers["retry-after"] == "60"
    # And once the wait is over the right password works, and clears the account's count
    clock.advance(60)
    assert _login(api, tenant_a.owner_email, tenant_a.owner_password).status == 200
    assert _login(api, tenant_a.owner_email, "guess-7").status == 401


def test_guesses_from_another_address_wait_for_the_account_too(api, tenant_a, clock):
    # Given an attacker guessed tenant A's owner's password 5 times from one address
    for i in range(5):
        _login(api, tenant_a.owner_email, f"guess-{i}", ip="203.0.113.1")

    # When they go on from another address
    response = _login(api, tenant_a.owner_email, "guess-5", ip="203.0.113.2")

    # Then the account still makes them wait
    assert_error(response, 429, "login_throttled", field="email")


def test_one_address_guessing_many_accounts_is_throttled(api, tenant_a, clock):
    # Given one address that failed 20 logins, each for a different email
    for i in range(20):
        assert _login(api, f"victim{i}@example.com", "guess", ip="203.0.113.9").status == 401

    # When it tries a 21st email, and another address logs in properly
    throttled = _login(api, tenant_a.owner_email, tenant_a.owner_password, ip="203.0.113.9")
    elsewhere = _login(api, tenant_a.owner_email, tenant_a.owner_password, ip="192.0.2.44")

    # Then that address waits (429 naming client_address) and the other is served
    assert_error(throttled, 429, "login_throttled", field="client_address")
    assert elsewhere.status == 200, elsewhere.body


def test_the_throttle_treats_unknown_emails_like_registered_ones(api, tenant_a, clock):
    # Given 5 failed logins for a registered email and 5 for one nobody has
    for i in range(5):
        _login(api, tenant_a.owner_email, f"guess-{i}", ip="203.0.113.3")
        _login(api, "nobody@nowhere.example.com", f"guess-{i}", ip="203.0.113.4")

    # When both try again
    registered = _login(api, tenant_a.owner_email, "guess", ip="203.0.113.3")
    unknown = _login(api, "nobody@nowhere.example.com", "guess", ip="203.0.113.4")

    # Then the two answers are identical
    assert registered.status == unknown.status == 429
    assert registered.body == unknown.body


def test_the_address_is_api_gateways_not_a_forwarded_header(api, tenant_a, clock):
    # Given an address that failed 20 logins
    for i in range(20):
        _login(api, f"victim{i}@example.com", "guess", ip="203.0.113.10")

    # When it sends X-Forwarded-For claiming another address
    response = api.post("/v1/auth/token", {"email": tenant_a.owner_email, "password": tenant_a.owner_password},
                        source_ip="203.0.113.10", headers={"x-forwarded-for": "192.0.2.1"})

    # Then it is still throttled
    assert_error(response, 429, "login_throttled", field="client_address")


# -- sign-up does not reveal registered emails ------------------------------------------------------

def test_sign_up_with_a_registered_email_looks_like_any_sign_up(api):
    # Given an email registered in one tenant
    first = _signup(api, "first-co", email="owner@shared.example.com", password="pw-first-correct-horse")
    assert first.status == 201, first.body

    # When someone signs up another tenant with the same email
    second = _signup(api, "second-co", email="owner@shared.example.com", password="pw-second-correct-horse")

    # Then it is an ordinary 201 (nothing says the email was known), and each owner logs in with their password
    assert second.status == 201, second.body
    assert set(second.json) == set(first.json)
    one = _login(api, "owner@shared.example.com", "pw-first-correct-horse").json
    two = _login(api, "owner@shared.example.com", "pw-second-correct-horse").json
    me_one = api.get("/v1/tenants/me", token=one["access_token"]).json
    me_two = api.get("/v1/tenants/me", token=two["access_token"]).json
    assert (me_one["tenant"]["slug"], me_two["tenant"]["slug"]) == ("first-co", "second-co")


def test_one_email_and_password_in_two_tenants_needs_the_tenant_slug(api):
    # Given the same email and password own two tenants
    assert _signup(api, "alpha-co").status == 201
    assert _signup(api, "beta-co").status == 201

    # When the owner logs in without, then with, a tenant
    ambiguous = _login(api, "owner@shared.example.com", "pw-shared-correct-horse")
    chosen = _login(api, "owner@shared.example.com", "pw-shared-correct-horse", tenant_slug="beta-co")

    # Then the first asks for tenant_slug, the second logs into beta-co
    assert_error(ambiguous, 409, "tenant_required", field="tenant_slug")
    me = api.get("/v1/tenants/me", token=chosen.json["access_token"]).json
    assert me["tenant"]["slug"] == "beta-co"


# -- SIGNUP and the operator's commands -------------------------------------------------------------

def test_closed_sign_up_returns_403_and_the_operator_creates_tenants(api, signup, monkeypatch):
    # Given SIGNUP=closed
    signup("closed")

    # When someone signs up, and the operator runs `minirag create-tenant`
    refused = _signup(api, "walk-in")
    monkeypatch.setenv("MINIRAG_OWNER_PASSWORD", "pw-operator-correct-horse")
    code, out, err = operator("create-tenant", "by-operator", "--email", "Boss@Example.com")

    # Then the sign-up is a 403 signup_closed, and the operator's tenant exists with a working token
    assert_error(refused, 403, "signup_closed")
    assert code == 0, err
    raw = out.split("API token (shown once): ")[1].strip()
    me = api.get("/v1/tenants/me", token=raw).json
    assert me["tenant"]["slug"] == "by-operator" and me["user"]["email"] == "boss@example.com"
    assert _login(api, "boss@example.com", "pw-operator-correct-horse").status == 200


def test_invite_sign_up_needs_a_code_that_works_once(api, signup):
    # Given SIGNUP=invite and a code from `minirag invite`
    signup("invite")
    code, out, err = operator("invite")
    assert code == 0, err
    invite = out.rsplit(": ", 1)[1].strip()

    # When someone signs up without a code, with a wrong one, with the code, and with it again
    without = _signup(api, "no-code")
    wrong = _signup(api, "wrong-code", invite_code="inv_not-a-real-code")
    first = _signup(api, "invited", invite_code=invite)
    reused = _signup(api, "invited-again", invite_code=invite)

    # Then only the first use of the code creates a tenant; the others are 403s naming invite_code
    assert_error(without, 403, "invite_required", field="invite_code")
    assert_error(wrong, 403, "invite_invalid", field="invite_code")
    assert first.status == 201, first.body
    assert_error(reused, 403, "invite_invalid", field="invite_code")
    assert _signup(api, "invited-again").status == 403  # and nothing was created meanwhile


def test_a_failed_invite_sign_up_leaves_the_code_unused(api, signup, tenant_a):
    # Given SIGNUP=invite, a code, and a sign-up that fails because the slug is taken
    signup("invite")
    invite = operator("invite")[1].rsplit(": ", 1)[1].strip()
    taken = _signup(api, tenant_a.slug, invite_code=invite)

    # When the code is used again with a free slug
    retry = _signup(api, "free-slug", invite_code=invite)

    # Then the first was a 409 and the code still worked
    assert_error(taken, 409, "slug_taken", field="tenant_slug")
    assert retry.status == 201, retry.body


def test_the_invite_code_is_stored_only_as_a_hash(api, signup):
    # Given an invite code
    from sqlalchemy import text

    from minirag.db.engine import get_engine

    invite = operator("invite")[1].rsplit(": ", 1)[1].strip()

    # When the database is read
    with get_engine().connect() as conn:
        stored = [row[0] for row in conn.execute(text("SELECT code_hash FROM signup_invite"))]

    # Then the code itself is nowhere in it
    assert len(stored) == 1 and invite not in stored[0]


def test_open_sign_up_still_works_by_default(api):
    # Given the default SIGNUP (open, for local use)
    # When a tenant signs up
    # Then it is created
    assert bootstrap_tenant(api, "walk-in-open").token
