"""Administration of a Trust's people and API keys, for a `trust_admin` (`people:manage`):
/v1/admin/users and /v1/admin/api-keys. Another Trust's person or key answers 404, exactly as one
that does not exist; schools must be schools of the caller's Trust."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, Field

from tidemark_gateway.entrypoints.accounts import (
    ACCOUNT_RESPONSES,
    Email,
    IdentityDep,
    Key,
    Password,
    Schools,
    User,
)
from tidemark_gateway.entrypoints.deps import ReferenceDep
from tidemark_identity.domain.roles import KEY_ROLES, PERSON_ROLES
from tidemark_identity.service import Invalid
from tidemark_runtime.auth import GuardedRoute, Permission, require
from tidemark_runtime.http import refusal
from tidemark_runtime.principal import Principal

router = APIRouter(
    prefix="/v1/admin",
    tags=["administration"],
    route_class=GuardedRoute,
    responses=ACCOUNT_RESPONSES,
)

Admin = Annotated[Principal, Depends(require(Permission.MANAGE_PEOPLE))]
Identifier = Annotated[str, Path(min_length=1, max_length=100)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: refusal("No such person or key in the caller's Trust")}


class NewUser(BaseModel):
    email: Email
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Annotated[str, Field(description=f"One of {', '.join(r.value for r in PERSON_ROLES)}")]
    schools: Schools = None
    password: Password | None = Field(
        default=None,
        description="Optional; must pass the policy. Without it, a temporary password is answered once",
    )


class CreatedUser(BaseModel):
    user_id: str
    temporary_password: str | None = Field(
        description="Shown once; the person must change it at first sign-in"
    )


class UserChange(BaseModel):
    role: str | None = None
    schools: Schools = None
    disabled: bool | None = None


class TemporaryPassword(BaseModel):
    temporary_password: str


class NewKey(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Annotated[str, Field(description=f"One of {', '.join(r.value for r in KEY_ROLES)}")]
    schools: Schools = None
    expires_on: date | None = Field(default=None, description="The key stops working on this day")


class CreatedKey(BaseModel):
    key_id: str
    key: str = Field(description="The whole key, shown this once: only its hash is kept")


async def known_schools(reference: ReferenceDep, caller: Principal, schools: Sequence[str] | None) -> None:
    """Schools must be the Trust's (another Trust's id is unknown here, like a made-up one)."""
    if schools is None:
        return
    known = {school.school_id for school in await reference.schools(caller)}
    if unknown := sorted(set(schools) - known):
        raise Invalid(f"unknown school {unknown[0]!r} (not a school of this Trust)", "schools")


@router.get("/users")
async def list_users(caller: Admin, identity: IdentityDep) -> list[User]:
    """The Trust's people."""
    return [User.of(person) for person in await identity.people(caller)]


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(
    new: NewUser, caller: Admin, identity: IdentityDep, reference: ReferenceDep
) -> CreatedUser:
    """Create a person with a role and schools (409 if the email is taken)."""
    await known_schools(reference, caller, new.schools)
    created = await identity.create_person(
        caller.trust_id, caller.actor_id, new.email, new.name, new.role, new.schools, new.password
    )
    return CreatedUser(user_id=created.person_id, temporary_password=created.temporary_password)


@router.patch("/users/{user_id}", responses=NOT_FOUND)
async def change_user(
    user_id: Identifier, change: UserChange, caller: Admin, identity: IdentityDep, reference: ReferenceDep
) -> User:
    """Change a person's role or schools, disable or re-enable them: effective on their very next
    request (disabling ends their sessions). Nobody changes their own role or disables themselves."""
    given = "schools" in change.model_fields_set
    if given:
        await known_schools(reference, caller, change.schools)
    changed = await identity.change_person(
        caller, user_id, change.role, change.schools, given, change.disabled
    )
    return User.of(changed)


@router.post("/users/{user_id}/reset-password", responses=NOT_FOUND)
async def reset_password(user_id: Identifier, caller: Admin, identity: IdentityDep) -> TemporaryPassword:
    """A temporary password, answered once, to be changed at the next sign-in; the person's sessions end."""
    return TemporaryPassword(temporary_password=await identity.reset_password(caller, user_id))


@router.get("/api-keys")
async def list_keys(caller: Admin, identity: IdentityDep) -> list[Key]:
    """The Trust's API keys with their last use (never the keys themselves)."""
    return [Key.of(key) for key in await identity.keys(caller)]


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
async def create_key(
    new: NewKey, caller: Admin, identity: IdentityDep, reference: ReferenceDep
) -> CreatedKey:
    """Create an API key (`ingest` or `reader`), answered once."""
    await known_schools(reference, caller, new.schools)
    created = await identity.create_key(
        caller.trust_id, caller.actor_id, new.name, new.role, new.schools, new.expires_on
    )
    return CreatedKey(key_id=created.key_id, key=created.key)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def revoke_key(key_id: Identifier, caller: Admin, identity: IdentityDep) -> None:
    """Revoke a key: refused on its very next request, on every service."""
    await identity.revoke_key(caller, key_id)
