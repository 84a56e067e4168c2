"""Free text people type (school names, model names and labels): what any store and any page can hold.

A NUL or other control character cannot be stored in PostgreSQL text or shown sensibly, so it is
refused where it arrives, naming the field, rather than failing later with a 500 (pydantic itself
refuses a lone surrogate, which UTF-8 cannot encode).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def printable(value: str) -> str:
    for character in value:
        if unicodedata.category(character) == "Cc":
            raise ValueError(f"must not hold control characters (found U+{ord(character):04X})")
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(printable)]
"""A school's name."""
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(printable)]
"""An assessment model's name."""
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), AfterValidator(printable)]
"""What people read for a code."""
