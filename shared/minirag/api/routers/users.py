"""Team members: the owner manages users and roles (users:write); admins may see the team
(users:read); members may not (see minirag.security.permissions)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from minirag.api.deps import PageDep, ScopeDep
from minirag.api.schemas.common import Page
from minirag.api.schemas.tenants import UserPublic
from minirag.api.schemas.users import UserCreate, UserUpdate
from minirag.services.commands import CreateUser, UpdateUser
from minirag.services.users import UserService

router = APIRouter(prefix="/v1/users", tags=["users"])


def get_user_service(scope: ScopeDep) -> UserService:
    return UserService(scope)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]

_409 = {409: {"description": "email taken (names `email`), or the last active owner (names `role` or `is_active`)"}}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserPublic, responses=_409,
             summary="Add a team member")
def create_user(body: UserCreate, service: UserServiceDep) -> UserPublic:
    """A user of the caller's tenant, who logs in with this email and password (role `member`
    unless given). Emails are unique per tenant: a taken one is a 409 naming `email`."""
    user = service.create(CreateUser(email=body.email, password=body.password.get_secret_value(),
                                     display_name=body.display_name, role=body.role))
    return UserPublic.model_validate(user)


@router.get("", response_model=Page[UserPublic], summary="List team members")
def list_users(service: UserServiceDep, page: PageDep,
               include_inactive: Annotated[bool, Query(description="also deactivated users")] = False
               ) -> Page[UserPublic]:
    """The tenant's users, newest first; deactivated ones only with `include_inactive=true`."""
    result = service.list(limit=page.limit, cursor=page.cursor, include_inactive=include_inactive)
    return Page[UserPublic](data=[UserPublic.model_validate(u) for u in result.items], next_cursor=result.next_cursor)


@router.get("/{id}", response_model=UserPublic, summary="Get a team member")
def get_user(id: uuid.UUID, service: UserServiceDep) -> UserPublic:
    """One user, deactivated ones too (`is_active: false`)."""
    return UserPublic.model_validate(service.get(id))


@router.patch("/{id}", response_model=UserPublic, responses=_409, summary="Change a team member")
def update_user(id: uuid.UUID, body: UserUpdate, service: UserServiceDep) -> UserPublic:
    """Display name, role, active. The role applies to the user's logins and tokens at once; the
    last active owner cannot be demoted or deactivated (409)."""
    sent = body.model_dump(exclude_unset=True)
    return UserPublic.model_validate(service.update(id, UpdateUser(**sent)))


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses=_409,
               summary="Deactivate a team member")
def deactivate_user(id: uuid.UUID, service: UserServiceDep) -> Response:
    """Deactivate (reversible: PATCH `is_active: true`): the user's logins and tokens stop at once."""
    service.deactivate(id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
