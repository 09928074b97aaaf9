"""UsersFunction: team members. The owner creates, lists, reads, changes and deactivates users;
emails are unique per tenant (409 naming email); there is always one active owner (409 naming
role / is_active); a deactivated user's tokens stop working and reactivation restores them."""

from __future__ import annotations

import uuid

from tests.assertions import assert_error
from tests.factories import make_user

USER_KEYS = {"id", "email", "display_name", "role", "is_active", "created_at", "updated_at"}


def test_owner_creates_member_who_can_log_in(api, tenant_a):
    # Given tenant A's owner
    # When it adds a member
    body = {"email": "Dana@Tenant-A.example.com", "password": "dana-battery-staple", "display_name": "Dana"}
    created = api.post("/v1/users", body, token=tenant_a.token)

    # Then 201 with the user (email normalised, role member by default), never a password or hash
    assert created.status == 201, created.body
    user = created.json
    assert set(user) == USER_KEYS
    assert (user["email"], user["display_name"], user["role"], user["is_active"]) == \
        ("dana@tenant-a.example.com", "Dana", "member", True)
    assert "battery" not in created.body.decode() and "argon2" not in created.body.decode()
    # And the member logs in and is who the owner created
    login = api.post("/v1/auth/token", {"email": "dana@tenant-a.example.com", "password": "dana-battery-staple"})
    assert login.status == 200, login.body
    me = api.get("/v1/auth/me", token=login.json["access_token"]).json
    assert me["user"]["id"] == user["id"] and me["user"]["role"] == "member"
    # And the list and the read show it
    listed = api.get("/v1/users", token=tenant_a.token).json["data"]
    assert {u["id"] for u in listed} == {tenant_a.owner_id, user["id"]}
    assert api.get(f"/v1/users/{user['id']}", token=tenant_a.token).json == user


def test_duplicate_email_is_409_naming_email(api, tenant_a):
    # Given a member
    make_user(api, tenant_a, email="sam@tenant-a.example.com")

    # When the owner adds the same email again (in other case), or its own
    again = api.post("/v1/users", {"email": "SAM@tenant-a.example.com", "password": "another-long-pass"},
                     token=tenant_a.token)
    own = api.post("/v1/users", {"email": tenant_a.owner_email, "password": "another-long-pass"},
                   token=tenant_a.token)

    # Then both are 409 naming email
    assert_error(again, 409, "email_taken", field="email")
    assert_error(own, 409, "email_taken", field="email")


def test_same_email_in_another_tenant_is_fine(api, tenant_a, tenant_b):
    # Given a member of A
    make_user(api, tenant_a, email="pat@example.com")

    # When B's owner adds the same email
    response = api.post("/v1/users", {"email": "pat@example.com", "password": "pat-battery-staple"},
                        token=tenant_b.token)

    # Then it is created (emails are unique per tenant)
    assert response.status == 201, response.body


def test_bad_user_bodies_are_422_naming_the_field(api, tenant_a):
    # Given bad bodies
    good = {"email": "x@tenant-a.example.com", "password": "long-enough-pass"}
    cases = [({**good, "email": "not-an-email"}, "email"), ({**good, "password": "short"}, "password"),
             ({**good, "role": "superuser"}, "role"), ({"email": "y@tenant-a.example.com"}, "password"),
             ({**good, "display_name": "x" * 201}, "display_name"), ({**good, "is_admin": True}, "is_admin")]

    for body, field in cases:
        # When each is sent
        response = api.post("/v1/users", body, token=tenant_a.token)

        # Then a 422 names the field
        assert_error(response, 422, "validation_error", field=field)
    # And a PATCH with a null role or an unknown role is a 422 naming role
    member = make_user(api, tenant_a)
    for body in ({"role": None}, {"role": "root"}):
        assert_error(api.patch(f"/v1/users/{member['id']}", body, token=tenant_a.token), 422, field="role")


def test_owner_changes_role_and_display_name(api, tenant_a):
    # Given a member
    member = make_user(api, tenant_a)

    # When the owner promotes them to admin and renames them
    response = api.patch(f"/v1/users/{member['id']}", {"role": "admin", "display_name": "Lead"},
                         token=tenant_a.token)

    # Then the user is an admin, and the member's existing JWT acts as an admin at once
    assert response.status == 200, response.body
    assert (response.json["role"], response.json["display_name"]) == ("admin", "Lead")
    assert api.post("/v1/bot-profiles", {"name": "by the new admin"}, token=member["token"]).status == 201


def test_deactivated_user_cannot_log_in_or_use_tokens_until_reactivated(api, tenant_a):
    # Given an admin with a JWT and an API token of their own
    admin = make_user(api, tenant_a, role="admin")
    key = api.post("/v1/api-tokens", {"name": "admin key"}, token=admin["token"]).json["raw_token"]
    assert api.get("/v1/bot-profiles", token=key).status == 200

    # When the owner deactivates them
    deleted = api.delete(f"/v1/users/{admin['id']}", token=tenant_a.token)

    # Then 204; their JWT, their API token and their password stop working at once
    assert deleted.status == 204 and deleted.body == b""
    assert_error(api.get("/v1/bot-profiles", token=admin["token"]), 401)
    assert_error(api.get("/v1/bot-profiles", token=key), 401)
    login = api.post("/v1/auth/token", {"email": admin["email"], "password": admin["password"]})
    assert_error(login, 401)
    # And the user is still there, visibly inactive (left out of the list unless asked for)
    assert api.get(f"/v1/users/{admin['id']}", token=tenant_a.token).json["is_active"] is False
    assert admin["id"] not in {u["id"] for u in api.get("/v1/users", token=tenant_a.token).json["data"]}
    listed = api.get("/v1/users", token=tenant_a.token, query={"include_inactive": "true"}).json["data"]
    assert admin["id"] in {u["id"] for u in listed}

    # When the owner reactivates them
    again = api.patch(f"/v1/users/{admin['id']}", {"is_active": True}, token=tenant_a.token)

    # Then their API token works again
    assert again.status == 200 and again.json["is_active"] is True
    assert api.get("/v1/bot-profiles", token=key).status == 200


def test_last_active_owner_cannot_be_demoted_or_deactivated(api, tenant_a):
    # Given a tenant with one owner (and an admin)
    make_user(api, tenant_a, role="admin")

    # When the owner demotes or deactivates themselves
    demote = api.patch(f"/v1/users/{tenant_a.owner_id}", {"role": "admin"}, token=tenant_a.token)
    deactivate = api.patch(f"/v1/users/{tenant_a.owner_id}", {"is_active": False}, token=tenant_a.token)
    delete = api.delete(f"/v1/users/{tenant_a.owner_id}", token=tenant_a.token)

    # Then each is a 409 naming the field, and the owner is unchanged
    assert_error(demote, 409, "last_owner", field="role")
    assert_error(deactivate, 409, "last_owner", field="is_active")
    assert_error(delete, 409, "last_owner", field="is_active")
    owner = api.get(f"/v1/users/{tenant_a.owner_id}", token=tenant_a.token).json
    assert (owner["role"], owner["is_active"]) == ("owner", True)


def test_a_second_owner_lets_the_first_step_down(api, tenant_a):
    # Given a second owner
    second = make_user(api, tenant_a, role="owner")

    # When the first owner demotes themselves
    response = api.patch(f"/v1/users/{tenant_a.owner_id}", {"role": "member"}, token=tenant_a.token)

    # Then it works, and now the second is the last owner
    assert response.status == 200 and response.json["role"] == "member"
    assert_error(api.delete(f"/v1/users/{second['id']}", token=second["token"]), 409, "last_owner",
                 field="is_active")


def test_deactivated_owner_does_not_count_as_an_owner(api, tenant_a):
    # Given a second owner, deactivated
    second = make_user(api, tenant_a, role="owner")
    assert api.delete(f"/v1/users/{second['id']}", token=tenant_a.token).status == 204

    # When the first owner demotes themselves
    response = api.patch(f"/v1/users/{tenant_a.owner_id}", {"role": "admin"}, token=tenant_a.token)

    # Then it is refused: the only *active* owner would be gone
    assert_error(response, 409, "last_owner", field="role")


def test_missing_user_is_404(api, tenant_a):
    for method in ("GET", "PATCH", "DELETE"):
        response = api.request(method, f"/v1/users/{uuid.uuid4()}", token=tenant_a.token,
                               json_body={"display_name": "x"} if method == "PATCH" else None)
        assert_error(response, 404, "not_found")


def test_admin_sees_the_team_but_cannot_manage_it(api, tenant_a):
    # Given an admin and a member
    admin = make_user(api, tenant_a, role="admin")
    member = make_user(api, tenant_a)

    # When the admin lists and reads users, then tries to add, change and remove one
    assert api.get("/v1/users", token=admin["token"]).status == 200
    assert api.get(f"/v1/users/{member['id']}", token=admin["token"]).status == 200
    create = api.post("/v1/users", {"email": "new@tenant-a.example.com", "password": "long-enough-pass"},
                      token=admin["token"])
    promote = api.patch(f"/v1/users/{admin['id']}", {"role": "owner"}, token=admin["token"])
    remove = api.delete(f"/v1/users/{member['id']}", token=admin["token"])

    # Then each write is a 403 naming users:write (the owner's permission)
    for response in (create, promote, remove):
        error = assert_error(response, 403, "forbidden", field="permission")
        assert error["details"][0]["reason"] == "requires users:write (owner)"
