"""`tidemark-admin`: the first administrator of a Trust in production, and the demo accounts of
`make run`.

    tidemark-admin create-admin --trust <trust id> --email <email> --name <name>

creates a `trust_admin` in the SQL store named by DATABASE_URL (migrated first: `tidemark-ingest
migrate`). The password is read from TIDEMARK_ADMIN_PASSWORD when set (never from the command line,
where it would be seen in the process list) and must pass the policy; otherwise a temporary password
is printed once and must be changed at the first sign-in. There is no default password.

    tidemark-admin demo --trust <trust id> --school <school id>

creates the demo accounts (one person per role, the school leader scoped to `--school`, an ingest
and a reader key, all with generated secrets) and prints them as JSON: the embedded stack's use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_identity.domain.passwords import hash_password
from tidemark_identity.service import Conflict, Identity, IdentityError
from tidemark_runtime.settings import LOOPBACK_DATABASE_URL, DatabaseUrl

PASSWORD_VARIABLE = "TIDEMARK_ADMIN_PASSWORD"
CLI_ACTOR = "cli:tidemark-admin"
DEMO_PEOPLE = (
    ("admin", "trust_admin", False),
    ("leader", "trust_leader", False),
    ("head", "school_leader", True),
    ("teacher", "teacher", True),
    ("analyst", "analyst", False),
)
"""(name, role, scoped to the demo school) of each demo person; emails are `<name>@<trust>.example`."""


class AdminSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: DatabaseUrl = LOOPBACK_DATABASE_URL


async def create_admin(
    database_url: str, trust: str, email: str, name: str, password: str | None
) -> dict[str, str | None]:
    engine = create_async_engine(database_url)
    try:
        created = await Identity.on(engine).create_person(
            trust, CLI_ACTOR, email, name, "trust_admin", None, password
        )
    finally:
        await engine.dispose()
    return {
        "user_id": created.person_id,
        "email": email.strip().lower(),
        "temporary_password": created.temporary_password,
    }


async def demo(database_url: str, trust: str, school: str) -> dict[str, object]:
    """The demo accounts: every person signs in with one generated password."""
    engine = create_async_engine(database_url)
    password = f"demo-{secrets.token_urlsafe(12)}"
    try:
        identity = Identity.on(engine)
        people = []
        for name, role, scoped in DEMO_PEOPLE:
            email = f"{name}@{trust}.example"
            try:
                await identity.create_person(
                    trust, CLI_ACTOR, email, name.title(), role, [school] if scoped else None, password
                )
            except Conflict:  # a given database that ran the demo before: the new password holds
                await identity.store.change_person(
                    (await identity.store.person_by_email(email)).person_id,  # type: ignore[union-attr]
                    password_hash=hash_password(password),
                    must_change_password=False,
                    disabled=False,
                )
            people.append({"email": email, "role": role, "schools": [school] if scoped else None})
        ingest = await identity.create_key(trust, CLI_ACTOR, "demo loader", "ingest", None)
        reader = await identity.create_key(trust, CLI_ACTOR, "demo reader", "reader", None)
    finally:
        await engine.dispose()
    return {
        "admin": {"email": people[0]["email"], "password": password},
        "people": people,
        "password": password,
        "tokens": {"ingest": ingest.key, "viewer": reader.key},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark-admin", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create a Trust's first (or another) trust_admin")
    admin.add_argument("--trust", required=True)
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True)
    demo_parser = commands.add_parser("demo", help="create the demo accounts and print them as JSON")
    demo_parser.add_argument("--trust", required=True)
    demo_parser.add_argument("--school", required=True, help="the demo school leader's school")
    arguments = parser.parse_args(argv)
    database_url = AdminSettings().database_url
    try:
        if arguments.command == "create-admin":
            created = asyncio.run(
                create_admin(
                    database_url,
                    arguments.trust,
                    arguments.email,
                    arguments.name,
                    os.environ.get(PASSWORD_VARIABLE),
                )
            )
            print(f"Created trust_admin {created['email']} of Trust {arguments.trust}.")
            if created["temporary_password"]:
                shown_once = created["temporary_password"]
                print(f"Temporary password (shown once; to be changed at first sign-in): {shown_once}")
        else:
            print(json.dumps(asyncio.run(demo(database_url, arguments.trust, arguments.school))))
    except IdentityError as error:
        print(f"tidemark-admin: {error.field + ': ' if error.field else ''}{error.detail}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
