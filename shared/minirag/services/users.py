"""Team members of a tenant: the owner adds, changes and deactivates users. Emails are unique per
tenant; deactivating a user stops their logins and tokens at once (both are checked against an
active user on every request) and is reversible; there is always at least one active owner."""

from __future__ import annotations

import uuid

from minirag.db import user_rows
from minirag.db.models import User, UserRole
from minirag.db.scope import PageResult, TenantScope, UniqueViolation
from minirag.errors import Conflict, field_details
from minirag.security.passwords import hash_password
from minirag.services.commands import CreateUser, UpdateUser


def _email_taken(email: str) -> Conflict:
    return Conflict(f"a user with email '{email}' already exists in this tenant", code="email_taken",
                    details=field_details("email", "already a user of this tenant"))


class UserService:
    def __init__(self, scope: TenantScope) -> None:
        self._scope = scope

    def create(self, command: CreateUser) -> User:
        with self._scope.read():
            taken = user_rows.email_taken(self._scope, command.email)
        if taken:
            raise _email_taken(command.email)
        password_hash = hash_password(command.password)  # slow on purpose: outside any transaction
        try:
            with self._scope.write():
                user = self._scope.add(User(id=uuid.uuid4(), email=command.email, password_hash=password_hash,
                                            display_name=command.display_name, role=UserRole(command.role)))
        except UniqueViolation:  # a concurrent create of the same email
            raise _email_taken(command.email) from None
        return user

    def list(self, *, limit: int, cursor: str | None, include_inactive: bool = False) -> PageResult[User]:
        with self._scope.read():
            return self._scope.page(User, limit=limit, cursor=cursor, active_only=not include_inactive)

    def get(self, user_id: uuid.UUID) -> User:
        """Deactivated users too (`is_active: false`): deactivation is visible and reversible."""
        with self._scope.read():
            return self._scope.get(User, user_id)

    def update(self, user_id: uuid.UUID, command: UpdateUser) -> User:
        changes = command.changes()
        with self._scope.write():
            user_rows.lock_team(self._scope)
            user = self._scope.get(User, user_id, for_update=True)
            role = UserRole(changes["role"]) if "role" in changes else user.role
            active = changes.get("is_active", user.is_active)
            if user.role == UserRole.owner and user.is_active and (role != UserRole.owner or not active) \
                    and user_rows.active_owners(self._scope) <= 1:
                field = "role" if role != UserRole.owner else "is_active"
                raise Conflict("the tenant must keep at least one active owner: make another user owner first",
                               code="last_owner", details=field_details(field, "the last active owner"))
            if "display_name" in changes:
                user.display_name = changes["display_name"]
            user.role, user.is_active = role, active
        return user

    def deactivate(self, user_id: uuid.UUID) -> None:
        """Idempotent: a deactivated user stays deactivated; their tokens and logins stop at once."""
        self.update(user_id, UpdateUser(is_active=False))
