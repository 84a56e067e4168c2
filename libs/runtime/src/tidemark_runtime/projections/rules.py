"""What a projection is: a small set of pure rules that the engine (`engine.py`) runs.

A projection keeps, per pupil, a Redis hash of *parts*. A part is one field of the hash holding
some facts about the pupil (the rule's data, each fact with its version) and exactly which
counters the pupil adds to because of them (its *contributions*). The engine owns everything else:
batching, reading the parts a batch needs, the pupil's current characteristics (every projection
groups by them), computing the counter deltas as "retract the old contributions, add the new",
the version-guarded atomic write and its retry, generations, reconcile and rebuild.

So a projection answers only:
- which part of which pupil an event is about (`route`, and `reads`: what else to load with it),
  the version stored of its fact (`stored_version`) and how it changes the parts (`apply`,
  version-guarded);
- what a pupil contributes in a part (`contributions`), from its characteristics and data;
- where a contribution is counted (`locate`: the counter hash, field and the change it announces);
- what it publishes when a part's contributions change (`outputs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.replay import FactKind

Contributions = frozenset[str] | Mapping[str, int]
"""The counters a part adds to: a set (each adds one) or a mapping to how much it adds."""

NO_CONTRIBUTIONS: frozenset[str] = frozenset()


class Located(NamedTuple):
    """Where one contribution is counted, and the change a write of it announces (a tuple: the
    engine makes one per counter move)."""

    key: str
    field: str
    notice: tuple[str, str, str, str] | None = None
    """(academic year, period, measure, school) for the change stream; None announces nothing.
    The same for every field of one counter hash (the engine announces per hash)."""


class Projection(Protocol):
    """The rules of one projection (see the module docstring). Pure: no I/O anywhere."""

    @property
    def name(self) -> str:
        """The projection's name, in logs and command lines."""
        ...

    @property
    def layout(self) -> str:
        """What its read model is counted in: the cells' shape and its rules' version
        (`aggregates.projection_layout`). Bumped by any change that makes a read model counted by
        earlier code wrong; a read model of another layout is rebuilt at start (`recovery`)."""
        ...

    @property
    def facts(self) -> frozenset[FactKind]:
        """The kinds of facts it is rebuilt from, all a rebuild asks the replay for: those `route`
        takes, pupils (the engine's, for every projection), and schools and classes when it
        `keeps_schools`. A kind left out is one whose every event `route` ignores (tested)."""
        ...

    @property
    def counter_kinds(self) -> tuple[str, ...]:
        """The key kinds of its counter hashes (`{base}:{kind}:...`), for reconcile and rebuild."""
        ...

    @property
    def derived_parts(self) -> tuple[str, ...]:
        """Parts that hold no data, only contributions computed from the characteristics;
        recomputed when everything is."""
        ...

    @property
    def keeps_schools(self) -> bool:
        """Whether the projection keeps the Trust's school names and models (`Keyspace.schools`)."""
        ...

    @property
    def stores_contributions(self) -> bool:
        """Whether each part stores its contributions beside its data (True), or only its data, the
        engine recomputing the old contributions from the old data when it needs them (False: a
        smaller state, for projections with many small parts). Then a part's contributions must
        depend on nothing but its own data, the characteristics and the pupil id, and a change of
        the rules needs a rebuild (reconcile names the counters it moved)."""
        ...

    def keyspace(self, prefix: str, trust_id: str) -> Keyspace:
        """The projection's keys for one Trust (generation "" ; the engine moves between them)."""
        ...

    def route(self, event: Any) -> tuple[str, str] | None:
        """(pupil id, part) that a tracker event changes, or None when it does not concern this
        projection. `pupil-upserted` and `school-upserted` are the engine's and never reach here."""
        ...

    def reads(self, part: str) -> tuple[str, ...]:
        """Other parts an event routed to `part` needs loaded: those `apply` may change besides it,
        and those its contributions depend on (e.g. the prior statutory results)."""
        ...

    def fans_out(self, part: str) -> bool:
        """Whether a change of `part` moves the contributions of every part (read them all)."""
        ...

    def stored_version(self, part: str, data: Mapping[str, Any], event: Any) -> int | None:
        """The version the parts loaded hold of the fact `event` is about (None: not stored yet).
        The engine refuses an event implausibly far ahead of it (`state.advance`)."""
        ...

    def apply(self, part: str, data: Mapping[str, Any], event: Any) -> dict[str, Any] | None:
        """The new data of each part the event changes (`data` holds every part loaded; a new
        part is absent), or None when the event is not newer than what the parts hold
        (redelivered, duplicated or overtaken). Never changes the data it is given."""
        ...

    def contributions(
        self, pupil_id: str, characteristics: Characteristics | None, data: Mapping[str, Any], parts: Iterable[str]
    ) -> dict[str, Contributions]:
        """What the pupil contributes in each of `parts`, from the data of every part loaded."""
        ...

    def encode(self, part: str, data: Any) -> Any:
        """The part's data as JSON-ready values."""
        ...

    def decode(self, part: str, raw: Any) -> Any:
        """The part's data from its JSON values."""
        ...

    def locate(self, keys: Keyspace, part: str, item: str) -> Located:
        """Where a contribution of `part` is counted."""
        ...

    def outputs(
        self, trust_id: str, pupil_id: str, part: str, before: Contributions, after: Contributions
    ) -> list[Any]:
        """Messages to publish because a part's contributions changed (after the write)."""
        ...


def weights(contributions: Contributions) -> Iterable[tuple[str, int]]:
    """(counter item, how much it adds) of each contribution."""
    if isinstance(contributions, frozenset | set):
        return ((item, 1) for item in contributions)
    return contributions.items()


def delta(before: Contributions, after: Contributions) -> dict[str, int]:
    """How each counter moves when a part's contributions go from `before` to `after`."""
    if isinstance(before, dict) and isinstance(after, dict):
        changed = {item: weight for item, weight in after.items() if weight}
        for item, weight in before.items():
            left = changed.get(item, 0) - weight
            if left:
                changed[item] = left
            else:
                changed.pop(item, None)
        return changed
    if isinstance(before, frozenset) and isinstance(after, frozenset):
        change = dict.fromkeys(after - before, 1)
        for item in before - after:
            change[item] = -1
        return change
    moved: dict[str, int] = dict(weights(after))
    for item, weight in weights(before):
        moved[item] = moved.get(item, 0) - weight
    return {item: amount for item, amount in moved.items() if amount}
