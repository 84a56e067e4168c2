"""Who may do what in Redis: one ACL user per service, with only the rights it needs.

The table (`REDIS_ACCESS`) is the one source of these rights: the embedded stack writes it as
valkey's ACL file (`acl_file`), and the ACL files of the production shapes
(`deploy/redis/users.acl`, the Kubernetes example's) are checked against it by the tests
(`tests/test_access_definitions.py`). Key patterns are written with `{prefix}` for `REDIS_PREFIX`:

- metrics writes the attainment projection's keys (`{prefix}:...`, its rebuilt generations
  `{prefix}.<generation>:...`) and the attendance projection's (`{prefix}-attendance...`);
- statutory writes its own projection's keys (`{prefix}-statutory...`) and appends to the change
  stream it announces on (`{prefix}:{<trust>}:changes`);
- the gateway reads all of these, streams included (XREAD), and writes nothing;
- nobody but the operators' `tidemark-admin` runs administrative commands (FLUSHALL, CONFIG,
  KEYS, DEBUG, SHUTDOWN, ACL, ...): `-@dangerous` takes them away from every service user;
- the default user is off: a client without credentials can do nothing (its command rights are
  only those Redis replays its append-only file with, `acl_rules`).

The Kafka side of the same table (topics and consumer groups per user) is `deploy/kafka/acls.txt`
(see deploy/README.md, "Security"); the embedded Tansu broker cannot enforce it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from redis.asyncio import RedisCluster

from tidemark_runtime.redis import RedisClient

ADMIN = "admin"
"""The operators' user (and the tests'): every command on every key."""

_CLUSTER = "+cluster|slots +cluster|shards +cluster|nodes +cluster|info +cluster|myid +readonly"
"""What a Redis Cluster client asks the nodes about the cluster (nothing that changes it)."""

WRITER_COMMANDS = f"-@all +@read +@write +@scripting +@transaction +@connection {_CLUSTER} -@dangerous"
"""A projection: read and write its keys, run its Lua scripts (EVAL, EVALSHA, SCRIPT LOAD), SCAN,
streams (XADD), MULTI/EXEC."""

READER_COMMANDS = f"-@all +@read +@transaction +@connection {_CLUSTER} -@dangerous"
"""The gateway: reads only (GET, HGETALL, MGET, EXISTS, XREAD, XREVRANGE, pipelines)."""


@dataclass(frozen=True)
class RedisAccess:
    """One service's Redis user."""

    writes: tuple[str, ...]
    """Key patterns it reads and writes (`{prefix}` stands for REDIS_PREFIX)."""
    reads: tuple[str, ...]
    """Key patterns it may only read."""
    commands: str

    def key_rules(self, prefix: str) -> list[str]:
        return [f"~{pattern.format(prefix=prefix)}" for pattern in self.writes] + [
            f"%R~{pattern.format(prefix=prefix)}" for pattern in self.reads
        ]


def _generations(projection: str) -> tuple[str, str]:
    """A projection's keys: its first generation (and Trust-wide keys) and every rebuilt one."""
    return f"{projection}:*", f"{projection}.*"


REDIS_ACCESS: dict[str, RedisAccess] = {
    "metrics": RedisAccess(
        writes=(*_generations("{prefix}"), *_generations("{prefix}-attendance")), reads=(), commands=WRITER_COMMANDS
    ),
    "statutory": RedisAccess(
        writes=(*_generations("{prefix}-statutory"), "{prefix}:{{*}}:changes"), reads=(), commands=WRITER_COMMANDS
    ),
    "gateway": RedisAccess(
        writes=(),
        reads=(*_generations("{prefix}"), *_generations("{prefix}-statutory"), *_generations("{prefix}-attendance")),
        commands=READER_COMMANDS,
    ),
}
"""Service -> its user's rights. Its user name is `user_name(service)`."""


def user_name(service: str) -> str:
    return f"tidemark-{service}"


def acl_rules(prefix: str, passwords: Mapping[str, str], hashed: bool = True, suffix: str = "") -> list[str]:
    """The ACL file's lines: the default user off, then `ADMIN` and every service of `REDIS_ACCESS`
    with its password (`passwords` by service name, and ADMIN; stored as a SHA-256 when `hashed`,
    else as given: a template's placeholder). A `suffix` names the service users apart from those
    of another prefix on the same Redis (the tests' platforms)."""

    def password(name: str) -> str:
        secret = passwords[name]
        return f"#{hashlib.sha256(secret.encode()).hexdigest()}" if hashed else f">{secret}"

    # The default user is off: no client can log in as it, and a client that does not log in gets
    # nothing but NOAUTH. Its rights serve Redis alone: it replays its append-only file as the
    # default user, and without them the transactions there (each script's writes) are refused on
    # a restart, losing the data.
    lines = ["user default off resetpass ~* &* +@all"]
    lines.append(f"user {user_name(ADMIN)} on {password(ADMIN)} ~* &* +@all")
    for service, access in REDIS_ACCESS.items():
        rules = " ".join(access.key_rules(prefix))
        lines.append(f"user {user_name(service)}{suffix} on {password(service)} resetkeys {rules} resetchannels "
                     f"{access.commands}")
    return lines


def with_user(url: str, user: str, password: str) -> str:
    """A redis:// URL that logs in as `user` (the password percent-encoded)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}").geturl()


@dataclass(frozen=True)
class RedisCredentials:
    """The users of one Redis (an embedded valkey or cluster): the prefix their key rights are
    written for and every user's password."""

    prefix: str
    passwords: Mapping[str, str]
    suffix: str = ""
    """Added to the service users' names (`acl_rules`)."""

    @classmethod
    def generate(cls, prefix: str, suffix: str = "") -> RedisCredentials:
        """A fresh random password for ADMIN and every service of `REDIS_ACCESS`."""
        return cls(prefix, {name: secrets.token_urlsafe(24) for name in (ADMIN, *REDIS_ACCESS)}, suffix)

    def user(self, service: str) -> str:
        """The user `service` (or ADMIN) logs in as."""
        return user_name(service) + ("" if service == ADMIN else self.suffix)

    def url(self, base_url: str, service: str) -> str:
        """`base_url` with the credentials of `service` (or ADMIN)."""
        return with_user(base_url, self.user(service), self.passwords[service])

    def write(self, path: Path) -> Path:
        """`acl_rules` as a file valkey reads (`--aclfile`), readable by this user only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.write_text("\n".join(acl_rules(self.prefix, self.passwords, suffix=self.suffix)) + "\n")
        return path

    async def install(self, admin: RedisClient) -> None:
        """Create or update the service users on a running Redis, as `admin` (every node of a
        cluster: ACLs are per node): what the ACL file does at start, for a Redis already running."""
        nodes: dict[str, Any] = {}
        if isinstance(admin, RedisCluster):
            await admin.initialize()
            nodes["target_nodes"] = admin.get_nodes()
        for line in acl_rules(self.prefix, self.passwords, suffix=self.suffix)[2:]:  # not the default user, not ADMIN
            _user, name, *rules = line.split()
            await admin.execute_command("ACL", "SETUSER", name, *rules, **nodes)


ACL_LOG_ENTRIES = 100_000
"""Asked of `ACL LOG` (which answers the newest 10 unless asked for more): more than Redis keeps
(`acllog-max-len`, 128 by default), so every entry it kept."""


async def refusals(admin: RedisClient, users: Collection[str]) -> list[dict[str, Any]]:
    """What Redis refused `users` since its ACL log was last reset (`ACL LOG` as `admin`, on every
    node of a cluster): one entry per kind of refusal, naming the user, the reason (command, key,
    channel, auth), the object (the command or key) and a count. Redis logs a refusal even when the
    client swallowed the error (a readiness probe, a watchdog's retry), so an empty list proves that
    the users' rights covered everything they did."""
    if isinstance(admin, RedisCluster):
        await admin.initialize()
        by_node: Any = await admin.acl_log(ACL_LOG_ENTRIES, target_nodes=admin.get_nodes())  # {node: its entries}
        entries = [entry for found in by_node.values() for entry in found]
    else:
        entries = await admin.acl_log(ACL_LOG_ENTRIES)
    return [entry for entry in entries if _text(entry["username"]) in users]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
