"""Sample exports for bulk import (`POST /v1/imports`, `tidemark-import`), made from a small demo
Trust (one school, about 50 pupils, a fixed day so the files never change): each kind in each
shape (classes and pupils, with each pupil's latest class; results with their assessment dates), as CSV and as Excel, with headers as a tracker's export writes them ("Pupil Id", "Year
Group", "Reading"), which ingest matches by name.

    python -m tidemark_tools.demo.samples [DIRECTORY]     # default: tools/samples

The school uses the Sonar assessment model (`SONAR_MODEL`): summative cells hold its codes.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.records import AssessmentRecord, ClassRecord, PupilRecord
from tidemark_schemas.statutory import COMPONENTS, StatutoryRecord
from tidemark_tools.demo.generator import generate_trust
from tidemark_tools.demo.trust import DemoTrust

SEED = 7
TODAY = date(2026, 7, 20)
"""The samples' demo Trust: seed and day fixed, so the files are the same at every run."""
SCHOOL = "S01"
RESULTS_YEAR = "2025/26"
ROWS_PERIOD = "AUT1"
"""The one-row-per-result summative sample: this year and period."""
WIDE_PERIOD = "AUT2"
"""The one-row-per-pupil summative sample: this period of RESULTS_YEAR, given at upload (no column)."""
STATUTORY_YEARS = ("2024/25", "2025/26")

FILES = (
    "classes", "pupils", "summative-rows", "summative-wide", "statutory-rows", "statutory-wide",
)
"""Each sample's name (each written as .csv and .xlsx)."""


def sample_trust() -> DemoTrust:
    trust = generate_trust(seed=SEED, schools=1, pupils_per_school=14, today=TODAY)
    assert trust.schools[0].assessment_model == SONAR_MODEL, "the samples' school uses the Sonar model"
    return trust


def _title(name: str) -> str:
    """A field as an export's header: `year_group` -> `Year Group`."""
    return name.replace("_", " ").title() if not name[:1].isupper() else name


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, list):  # a class's year groups: "Y3" or "Y3 Y4"
        return " ".join(str(_cell(item)) for item in value)
    return getattr(value, "value", value)


def classes(trust: DemoTrust) -> tuple[list[str], list[list[Any]]]:
    """Every class of the school, each year (the pupils sample's `Class Id` names one of each pupil's latest year)."""
    fields = list(ClassRecord.model_fields)
    return [_title(f) for f in fields], [[_cell(getattr(c, f)) for f in fields] for c in trust.classes]


def pupils(trust: DemoTrust) -> tuple[list[str], list[list[Any]]]:
    fields = list(PupilRecord.model_fields)
    return [_title(f) for f in fields], [[_cell(getattr(p, f)) for f in fields] for p in trust.pupils]


def summative_rows(trust: DemoTrust) -> tuple[list[str], list[list[Any]]]:
    fields = list(AssessmentRecord.model_fields)
    chosen = [a for a in trust.assessments if (a.academic_year, a.period) == (RESULTS_YEAR, ROWS_PERIOD)]
    return [_title(f) for f in fields], [[_cell(getattr(a, f)) for f in fields] for a in chosen]


def summative_wide(trust: DemoTrust) -> tuple[list[str], list[list[Any]]]:
    """One row per pupil, a column per subject holding the school's code; no year or period column."""
    by_pupil: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    subjects: dict[str, None] = {}
    for a in trust.assessments:
        if (a.academic_year, a.period) == (RESULTS_YEAR, WIDE_PERIOD):
            by_pupil[(a.pupil_id, a.year_group.value)][a.subject] = a.code or ""
            subjects[a.subject] = None
    headers = ["Pupil Id", "School Id", "Year Group", *(_title(s) for s in subjects)]
    rows = [[pupil, SCHOOL, year_group, *(codes.get(s, "") for s in subjects)]
            for (pupil, year_group), codes in by_pupil.items()]
    return headers, rows


def statutory_rows(trust: DemoTrust) -> tuple[list[str], list[list[Any]]]:
    fields = list(StatutoryRecord.model_fields)
    chosen = [s for s in trust.statutory if s.academic_year in STATUTORY_YEARS]
    return [_title(f) for f in fields], [[_cell(getattr(s, f)) for f in fields] for s in chosen]


def statutory_wide(trust: DemoTrust) -> tuple[list[str], list[list[Any]]]:
    """One row per pupil and year, a column per component: a plain `ks2_writing_ta` for a component
    that takes codes only, `..._mark` / `..._scaled_score` / `..._code` for one with numbers."""
    by_pupil: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    columns: dict[str, None] = {}
    for s in trust.statutory:
        if s.academic_year not in STATUTORY_YEARS:
            continue
        base = f"{s.assessment.value}_{s.component}"
        spec = COMPONENTS[s.assessment][s.component]
        if spec.marks is None and spec.scaled is None:
            values = {base: s.code}
        else:
            values = {f"{base}_{name}": getattr(s, name) for name in ("mark", "scaled_score", "code")
                      if getattr(s, name) is not None}
        by_pupil[(s.pupil_id, s.academic_year)].update(values)
        columns.update(dict.fromkeys(values))
    headers = ["Pupil Id", "School Id", "Academic Year", *columns]
    rows = [[pupil, SCHOOL, year, *(_cell(values.get(c)) for c in columns)]
            for (pupil, year), values in by_pupil.items()]
    return headers, rows


def _write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerows(rows)


def _write_xlsx(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("export")
    sheet.append(list(headers))
    for row in rows:  # numbers as numbers, as a spreadsheet holds them
        sheet.append([int(v) if isinstance(v, str) and v.isdigit() and len(v) < 6 else (v if v != "" else None)
                      for v in row])
    workbook.save(path)


def write_samples(directory: Path) -> list[Path]:
    """Write every sample (CSV and Excel) into `directory`; the paths written."""
    trust = sample_trust()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in zip(FILES, (classes, pupils, summative_rows, summative_wide, statutory_rows, statutory_wide)):
        headers, rows = make(trust)
        _write_csv(directory / f"{name}.csv", headers, rows)
        _write_xlsx(directory / f"{name}.xlsx", headers, rows)
        written += [directory / f"{name}.csv", directory / f"{name}.xlsx"]
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    directory = Path(args[0]) if args else Path(__file__).resolve().parents[3] / "samples"
    for path in write_samples(directory):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
