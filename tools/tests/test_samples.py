"""The sample exports in tools/samples are what `python -m tidemark_tools.demo.samples` writes from
the demo Trust today (regenerate them when the generator changes)."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from tidemark_tools.demo import samples

COMMITTED = Path(samples.__file__).resolve().parents[3] / "samples"


def cells(path: Path) -> list[tuple[object, ...]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def test_the_committed_samples_are_the_generators(tmp_path: Path) -> None:
    written = samples.write_samples(tmp_path)

    assert sorted(p.name for p in written) == sorted(p.name for p in COMMITTED.iterdir())
    for path in written:
        if path.suffix == ".csv":
            assert path.read_text() == (COMMITTED / path.name).read_text(), path.name
        else:
            assert cells(path) == cells(COMMITTED / path.name), path.name
    assert len((COMMITTED / "summative-rows.csv").read_text().splitlines()) > 100
