"""School census ethnicity codes and the DfE major groups they roll up to (one lookup table).

Follows current DfE releases, which report Chinese inside the Asian major group.
"""

from __future__ import annotations

from enum import StrEnum


class EthnicGroup(StrEnum):
    WHITE = "White"
    MIXED = "Mixed"
    ASIAN = "Asian"
    BLACK = "Black"
    OTHER = "Any other ethnic group"
    UNCLASSIFIED = "Unclassified"


CENSUS_ETHNICITY: dict[str, EthnicGroup] = {
    # White
    "WBRI": EthnicGroup.WHITE,
    "WIRI": EthnicGroup.WHITE,
    "WIRT": EthnicGroup.WHITE,
    "WOTH": EthnicGroup.WHITE,
    "WROM": EthnicGroup.WHITE,
    # Mixed / multiple
    "MWBC": EthnicGroup.MIXED,
    "MWBA": EthnicGroup.MIXED,
    "MWAS": EthnicGroup.MIXED,
    "MOTH": EthnicGroup.MIXED,
    # Asian / Asian British
    "AIND": EthnicGroup.ASIAN,
    "APKN": EthnicGroup.ASIAN,
    "ABAN": EthnicGroup.ASIAN,
    "AOTH": EthnicGroup.ASIAN,
    # Black / Black British
    "BCRB": EthnicGroup.BLACK,
    "BAFR": EthnicGroup.BLACK,
    "BOTH": EthnicGroup.BLACK,
    # Chinese: inside the Asian major group, as in current DfE releases (see docs/domain-decisions.md)
    "CHNE": EthnicGroup.ASIAN,
    # Any other
    "OOTH": EthnicGroup.OTHER,
    # Refused / not obtained
    "REFU": EthnicGroup.UNCLASSIFIED,
    "NOBT": EthnicGroup.UNCLASSIFIED,
}


def ethnic_group(census_code: str) -> EthnicGroup:
    """Major group of a census code; raises KeyError for a code not in the census list."""
    return CENSUS_ETHNICITY[census_code]
