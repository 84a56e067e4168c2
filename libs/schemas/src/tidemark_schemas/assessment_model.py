"""A school's own summative assessment model: finer codes, each mapped to one ARE band.

Reporting always uses the band (the Simple view); the codes feed the School view of the
attainment overview, which is offered only when every school in scope uses the same model
(same name and the same codes, labels and bands, in the same order).

A school declares its model on its school record; a result from such a school then carries the
model's code and its band follows from the code. A school without a model sends bands only.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tidemark_schemas.text import Label, ShortName
from tidemark_schemas.vocabulary import Band

ModelCodeValue = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_+\-.*]+$")
]
"""A model code as the tracker sends it (letters, digits and `_ + - . *`; never `|`)."""

_BAND_ORDER = {Band.BELOW: 0, Band.AT: 1, Band.ABOVE: 2}


class ModelCode(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: ModelCodeValue
    label: Label
    band: Band = Field(description="The ARE band this code counts as")


class AssessmentModel(BaseModel):
    """The codes of a school's model, lowest first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ShortName
    label: Label | None = Field(
        default=None, description="The model's name as people know it, shown in the School view (the name when absent)"
    )
    codes: tuple[ModelCode, ...] = Field(
        min_length=2, max_length=20, description="Lowest first: every BELOW code before AT, every AT before ABOVE"
    )

    @model_validator(mode="after")
    def _codes_unique_and_ordered_by_band(self) -> AssessmentModel:
        seen: set[str] = set()
        for item in self.codes:
            if item.code in seen:
                raise ValueError(f"code {item.code!r} appears twice in model {self.name!r}")
            seen.add(item.code)
        bands = [_BAND_ORDER[item.band] for item in self.codes]
        if bands != sorted(bands):
            raise ValueError("codes must be listed lowest first: every BELOW code before AT, every AT before ABOVE")
        return self

    def band_of(self, code: str) -> Band | None:
        """The band a code counts as; None for a code the model does not have."""
        return next((item.band for item in self.codes if item.code == code), None)


SONAR_MODEL = AssessmentModel(
    name="sonar",
    label="Sonar",
    codes=(
        ModelCode(code="SB", label="Significantly Below", band=Band.BELOW),
        ModelCode(code="B", label="Below", band=Band.BELOW),
        ModelCode(code="JA", label="Just At", band=Band.AT),
        ModelCode(code="SA", label="Securely At", band=Band.AT),
        ModelCode(code="A", label="Above", band=Band.ABOVE),
        ModelCode(code="SAB", label="Significantly Above", band=Band.ABOVE),
    ),
)
"""The model of the product we mirror: Below / Just At / Securely At / Above, and Significantly
Below / Above for pupils assessed against another year group's content (the demo Trust uses it)."""
