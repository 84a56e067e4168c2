"""The small-group policy of a Trust's answers: which groups are small (`SMALL_GROUP_THRESHOLD`) and
who may still see their percentages (`small_group_percentages_shown`, the hook for roles)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TypeVar

from tidemark_gateway.domain.small_groups import DEFAULT_THRESHOLD, mark_small_groups
from tidemark_runtime.auth import Permission, permissions_of
from tidemark_runtime.settings import Principal

T = TypeVar("T")


def small_group_percentages_shown(permissions: Collection[Permission]) -> bool:
    """Whether a caller with `permissions` sees the %s (and other unrounded figures) of a small group:
    with `Permission.READ_SMALL_GROUPS`, which every role reading figures holds but the `analyst`.
    An analyst's answers (and so its exports, which are made from them) carry null for those
    figures; counts stay (the group size is what the UI shows instead)."""
    return Permission.READ_SMALL_GROUPS in permissions


@dataclass(frozen=True, slots=True)
class SmallGroups:
    threshold: int = DEFAULT_THRESHOLD

    def marked(self, caller: Principal, report: T) -> T:
        """`report` with its small groups flagged, and their figures withheld from a caller who may not see them."""
        withhold = not small_group_percentages_shown(permissions_of(caller))
        return mark_small_groups(report, self.threshold, withhold=withhold)
