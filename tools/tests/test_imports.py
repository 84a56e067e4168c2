"""Bulk import over HTTP on a real PostgreSQL store: the demo Trust's sample exports of each kind and
shape (tools/samples, CSV and Excel) are validated in the background, committed and stored as the
same facts the API would store; a file with errors stores nothing and names every error; the same
file twice changes nothing; a 300,000-row file reports its progress while it runs.

It lives with the tools because it compares what is stored with the demo Trust the samples were
made from, and only the tools may use the demo generator.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import func, select

from tidemark_identity.adapters.store import AUDIT
from tidemark_ingest.adapters.import_store import IMPORT_JOB
from tidemark_ingest.adapters.store import ASSESSMENT, CLASS, OUTBOX, PUPIL, STATUTORY
from tidemark_ingest.domain.imports import ImportState
from tidemark_ingest.entrypoints import import_cli
from tidemark_ingest.service_layer.imports import UNDER_WAY
from tidemark_ingest.testing import TRUST, Ingest, in_process, ingest_settings
from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.records import PupilRecord, SchoolRecord
from tidemark_schemas.vocabulary import PRIMARY_SUBJECTS
from tidemark_tools.demo import samples

SAMPLES = Path(samples.__file__).resolve().parents[3] / "samples"
INGEST = {"Authorization": "Bearer ingest"}
FINISHED = {"invalid", "ready", "done", "failed"}


@pytest.fixture(scope="module")
def demo() -> samples.DemoTrust:
    return samples.sample_trust()


@pytest.fixture
async def school_only(database_url: str) -> AsyncIterator[Ingest]:
    """Ingest with the samples' school (S01, on the Sonar model) and nothing else."""
    async with in_process(ingest_settings(database_url)) as running:
        await running.services.tracker.post_schools(
            TRUST, [SchoolRecord(school_id="S01", name="Oak", assessment_model=SONAR_MODEL)])
        yield running


@pytest.fixture
async def ingest(school_only: Ingest, demo: samples.DemoTrust) -> Ingest:
    """Ingest with the samples' school and its classes (the pupils sample names each pupil's class)."""
    await school_only.services.tracker.post_classes(TRUST, demo.classes)
    return school_only


async def upload(ingest: Ingest, name: str, content: bytes, kind: str, headers: dict[str, str] = INGEST,
                 **form: str) -> dict[str, Any]:
    response = await ingest.client.post("/v1/imports", headers=headers, files={"file": (name, content)},
                                        data={"kind": kind, **form})
    assert response.status_code == 202, response.text
    return await settled(ingest, response.json()["import_id"])


async def settled(ingest: Ingest, import_id: str, seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Poll the import until it stops working (every status kept in `seen`)."""
    for _ in range(20_000):
        status = (await ingest.client.get(f"/v1/imports/{import_id}", headers=INGEST)).json()
        if seen is not None:
            seen.append(status)
        if status["state"] in FINISHED:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"import {import_id} never finished")


async def commit(ingest: Ingest, status: dict[str, Any], seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    assert status["state"] == "ready", status["errors"][:5]
    response = await ingest.client.post(f"/v1/imports/{status['import_id']}/commit", headers=INGEST)
    assert response.status_code == 202, response.text
    assert response.json()["state"] in {"storing", "done"}
    return await settled(ingest, status["import_id"], seen)


async def imported(ingest: Ingest, path: Path, kind: str, **form: str) -> dict[str, Any]:
    return await commit(ingest, await upload(ingest, path.name, path.read_bytes(), kind, **form))


async def rows(ingest: Ingest, *columns: Any) -> set[tuple[Any, ...]]:
    async with ingest.services.engine.connect() as connection:
        return {tuple(r) for r in await connection.execute(select(*columns))}


async def count(ingest: Ingest, table: Any) -> int:
    async with ingest.services.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def import_audit(ingest: Ingest) -> list[dict[str, Any]]:
    async with ingest.services.engine.connect() as connection:
        found = await connection.execute(select(AUDIT.c.detail).where(AUDIT.c.action == "import").order_by(AUDIT.c.id))
    return [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in found]


def data_rows(path: Path) -> int:
    return sum(1 for _ in csv.reader(SAMPLES.joinpath(path.stem + ".csv").open())) - 1


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
async def test_the_pupils_sample_stores_every_pupil_as_posted(ingest: Ingest, demo: samples.DemoTrust,
                                                              extension: str) -> None:
    path = SAMPLES / f"pupils.{extension}"

    status = await imported(ingest, path, "pupils")

    assert (status["state"], status["rows_read"], status["rows_valid"], status["rows_stored"]) == (
        "done", len(demo.pupils), len(demo.pupils), len(demo.pupils))
    assert status["columns"]["Year Group"] == "year_group" and status["errors"] == []
    stored = await rows(ingest, PUPIL.c.pupil_id, PUPIL.c.year_group, PUPIL.c.fsm6, PUPIL.c.eal, PUPIL.c.left_on)
    assert stored == {(p.pupil_id, p.year_group.value, p.fsm6, p.eal, p.left_on) for p in demo.pupils}
    assert await import_audit(ingest) == [{"request": "/v1/imports", "import_id": status["import_id"],
                                           "kind": "pupils", "accepted": True, "rows": len(demo.pupils),
                                           "results": len(demo.pupils), "changed": len(demo.pupils)}]


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
async def test_the_classes_sample_stores_every_class_once_and_the_pupils_sample_places_each_pupil(
    school_only: Ingest, demo: samples.DemoTrust, extension: str
) -> None:
    first = await imported(school_only, SAMPLES / f"classes.{extension}", "classes")
    again = await imported(school_only, SAMPLES / f"classes.{extension}", "classes")
    await imported(school_only, SAMPLES / f"pupils.{extension}", "pupils")

    assert (first["state"], first["rows_stored"], first["error_count"]) == ("done", len(demo.classes), 0)
    assert first["columns"]["Year Groups"] == "year_groups"
    assert await class_rows(school_only) == {
        (c.class_id, c.academic_year, c.name, tuple(y.value for y in c.year_groups)) for c in demo.classes}
    assert [a["changed"] for a in await import_audit(school_only)][:2] == [len(demo.classes), 0]
    async with school_only.services.engine.connect() as connection:
        placed = {r[0]: r[1] for r in await connection.execute(select(PUPIL.c.pupil_id, PUPIL.c.classes))}
    assert placed == {
        p.pupil_id: {next(c.academic_year for c in demo.classes if c.class_id == p.class_id): p.class_id}
        for p in demo.pupils}
    assert again["state"] == "done"


async def class_rows(ingest: Ingest) -> set[tuple[Any, ...]]:
    """The stored classes, their year groups (a JSON list) as a tuple."""
    async with ingest.services.engine.connect() as connection:
        found = await connection.execute(select(CLASS.c.class_id, CLASS.c.academic_year, CLASS.c.name,
                                                CLASS.c.year_groups))
        return {(r[0], r[1], r[2], tuple(r[3])) for r in found}


async def test_a_classes_file_with_errors_names_every_row_and_column(school_only: Ingest) -> None:
    bad = ("Class Id,School Id,Academic Year,Name,Year Groups\n"
           "C1,S01,2025/26,3A,Y3\n"
           "C2,S09,2025/26,3B,Y3\n"
           "C3,S01,2025/26,Mixed,Y3 Y9\n"
           "C1,S01,2025/26,3A again,Y3\n")

    status = await upload(school_only, "classes.csv", bad.encode(), "classes")

    assert (status["state"], status["rows_valid"]) == ("invalid", 1)
    assert [(e["row"], e["column"]) for e in status["errors"]] == [
        (3, "School Id"), (4, "Year Groups"), (5, "Class Id")]
    assert await count(school_only, CLASS) == 0


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
@pytest.mark.parametrize(("sample", "period", "form"), [
    ("summative-rows", samples.ROWS_PERIOD, {}),
    ("summative-wide", samples.WIDE_PERIOD, {"academic_year": samples.RESULTS_YEAR, "period": samples.WIDE_PERIOD}),
])
async def test_a_summative_sample_of_either_shape_stores_the_demo_results(
    ingest: Ingest, demo: samples.DemoTrust, sample: str, period: str, form: dict[str, str], extension: str
) -> None:
    await imported(ingest, SAMPLES / "pupils.csv", "pupils")

    status = await imported(ingest, SAMPLES / f"{sample}.{extension}", "summative", **form)

    assert (status["state"], status["rows_stored"], status["error_count"]) == (
        "done", data_rows(SAMPLES / sample), 0)
    expected = {(a.pupil_id, a.subject, a.code, a.band.value if a.band else None) for a in demo.assessments
                if (a.academic_year, a.period) == (samples.RESULTS_YEAR, period)}
    stored = await rows(ingest, ASSESSMENT.c.pupil_id, ASSESSMENT.c.subject, ASSESSMENT.c.entered_code,
                        ASSESSMENT.c.entered_band)
    assert stored == expected and len(expected) > 100


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
@pytest.mark.parametrize("sample", ["statutory-rows", "statutory-wide"])
async def test_a_statutory_sample_of_either_shape_stores_the_demo_results(
    ingest: Ingest, demo: samples.DemoTrust, sample: str, extension: str
) -> None:
    await imported(ingest, SAMPLES / "pupils.csv", "pupils")

    status = await imported(ingest, SAMPLES / f"{sample}.{extension}", "statutory")

    assert (status["state"], status["rows_stored"], status["error_count"]) == (
        "done", data_rows(SAMPLES / sample), 0)
    expected = {(s.pupil_id, s.academic_year, s.assessment.value, s.component, s.mark, s.scaled_score, s.code)
                for s in demo.statutory if s.academic_year in samples.STATUTORY_YEARS}
    columns = STATUTORY.c
    stored = await rows(ingest, columns.pupil_id, columns.academic_year, columns.assessment, columns.component,
                        columns.entered_mark, columns.entered_scaled_score, columns.entered_code)
    assert stored == expected and len(expected) > 100


BAD_FILE = """UPN,School,Academic Year,Period,Year Group,Subject,Code,Notes
P000001,S01,2025/26,AUT1,Y2,reading,JA,fine
P000001,S01,2025/26,AUT1,Y2,reading,SA,the same result twice
NOBODY,S01,2025/26,AUT1,Y2,maths,JA,
P000002,S01,2025/26,AUT1,Y9,maths,JA,
P000002,S01,2025/26,AUT1,Y2,maths,XX,
,S01,2025/26,AUT1,Y2,writing,JA,
"""


async def test_a_file_with_errors_names_every_error_and_stores_nothing(ingest: Ingest) -> None:
    await imported(ingest, SAMPLES / "pupils.csv", "pupils")
    outbox_before = await count(ingest, OUTBOX)

    status = await upload(ingest, "bad.csv", BAD_FILE.encode(), "summative",
                          mapping=json.dumps({"UPN": "pupil_id", "School": "school_id"}))

    assert (status["state"], status["rows_read"], status["rows_valid"], status["error_count"]) == ("invalid", 6, 1, 5)
    assert [(e["row"], e["column"], e["value"]) for e in status["errors"]] == [
        (3, "Subject", "reading"), (4, "UPN", "NOBODY"), (5, "Year Group", "Y9"), (6, "Code", "XX"), (7, "UPN", None),
    ]
    reasons = [e["reason"] for e in status["errors"]]
    assert reasons[0] == "repeats row 2 of the file"
    assert reasons[1].startswith("unknown pupil") and reasons[3].startswith("unknown code in assessment model")
    assert reasons[4] == "Field required"
    assert status["columns"] == {"UPN": "pupil_id", "School": "school_id", "Academic Year": "academic_year",
                                 "Period": "period", "Year Group": "year_group", "Subject": "subject",
                                 "Code": "code", "Notes": None}
    listed = (await ingest.client.get(status["errors_csv_url"], headers=INGEST))
    assert listed.headers["content-type"].startswith("text/csv")
    assert [line[:2] for line in csv.reader(io.StringIO(listed.text))] == [
        ["row", "column"], ["3", "Subject"], ["4", "UPN"], ["5", "Year Group"], ["6", "Code"], ["7", "UPN"]]
    refused = await ingest.client.post(f"/v1/imports/{status['import_id']}/commit", headers=INGEST)
    assert refused.status_code == 409 and "invalid" in refused.json()["detail"]
    assert (await count(ingest, ASSESSMENT), await count(ingest, OUTBOX)) == (0, outbox_before)
    assert await rows(ingest, IMPORT_JOB.c.content) == {(b"",)}  # an import that cannot be committed keeps no file
    assert (await import_audit(ingest))[-1] == {"request": "/v1/imports", "import_id": status["import_id"],
                                                "kind": "summative", "accepted": False, "rows": 6, "errors": 5}


async def test_a_file_without_a_needed_column_is_one_error_not_one_per_row(ingest: Ingest) -> None:
    status = await upload(ingest, "x.csv", b"Pupil,Year Group,reading\nP1,Y3,AT\nP2,Y3,AT\n", "summative",
                          academic_year="2025/26", period="AUT1")

    assert status["state"] == "invalid"
    assert [(e["row"], e["column"]) for e in status["errors"]] == [(None, "pupil_id"), (None, "school_id")]


async def test_the_same_file_twice_changes_nothing_the_second_time(ingest: Ingest) -> None:
    await imported(ingest, SAMPLES / "pupils.csv", "pupils")
    first = await imported(ingest, SAMPLES / "summative-rows.csv", "summative")
    facts = await rows(ingest, ASSESSMENT.c.pupil_id, ASSESSMENT.c.subject, ASSESSMENT.c.version)
    events = await count(ingest, OUTBOX)

    second = await imported(ingest, SAMPLES / "summative-rows.csv", "summative")

    assert (first["state"], second["state"], second["rows_stored"]) == ("done", "done", first["rows_stored"])
    assert await rows(ingest, ASSESSMENT.c.pupil_id, ASSESSMENT.c.subject, ASSESSMENT.c.version) == facts
    assert await count(ingest, OUTBOX) == events
    audits = await import_audit(ingest)
    assert [a["changed"] for a in audits[-2:]] == [len(facts), 0]


async def test_a_school_scoped_key_imports_only_its_schools(ingest: Ingest) -> None:
    created = await ingest.services.identity.create_key(TRUST, "user:admin", "tracker", "ingest", ["S02"])
    headers = {"Authorization": f"Bearer {created.key}"}

    status = await upload(ingest, "pupils.csv", (SAMPLES / "pupils.csv").read_bytes(), "pupils", headers=headers)

    assert status["state"] == "invalid" and status["rows_valid"] == 0
    assert {(e["column"], e["reason"]) for e in status["errors"]} == {
        ("School Id", "this key may not write this school (not in its scope)")}
    assert await count(ingest, PUPIL) == 0


async def test_unusable_uploads_are_refused_at_once(database_url: str) -> None:
    async with in_process(ingest_settings(database_url, import_max_rows=2, max_body_bytes=16_384)) as small:
        client = small.client
        three_rows = b"pupil_id,school_id\nP1,S1\nP2,S1\nP3,S1\n"
        too_long = await client.post("/v1/imports", headers=INGEST, files={"file": ("a.csv", three_rows)},
                                     data={"kind": "pupils"})
        too_big = await client.post("/v1/imports", headers=INGEST, files={"file": ("a.csv", b"x" * 20_000)},
                                    data={"kind": "pupils"})
        long_sheet = await client.post("/v1/imports", headers=INGEST, data={"kind": "pupils"},
                                       files={"file": ("p.xlsx", (SAMPLES / "pupils.xlsx").read_bytes())})
        not_utf8 = await client.post("/v1/imports", headers=INGEST, files={"file": ("a.csv", b"\xff\xfe\x00a")},
                                     data={"kind": "pupils"})
        bad_mapping = await client.post("/v1/imports", headers=INGEST, files={"file": ("a.csv", b"a\n")},
                                        data={"kind": "pupils", "mapping": '{"a": "shoe_size"}'})
        viewer = await client.post("/v1/imports", headers={"Authorization": "Bearer viewer"},
                                   files={"file": ("a.csv", b"a\n")}, data={"kind": "pupils"})
        # a workbook written without its dimension (as this one) is counted while it is validated
        sheet_status = await settled(small, long_sheet.json()["import_id"])

    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["body", "file"]
    assert "more than 2 rows" in too_long.json()["detail"][0]["msg"]
    assert (sheet_status["state"], [(e["row"], e["column"]) for e in sheet_status["errors"]]) == (
        "invalid", [(None, "file")])
    assert "more than 2 rows" in sheet_status["errors"][0]["reason"]
    assert too_big.status_code == 413
    assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.json()["detail"][0]["msg"]
    assert bad_mapping.status_code == 422 and bad_mapping.json()["detail"][0]["loc"] == ["body", "mapping"]
    assert viewer.status_code == 403


LARGE_PUPILS = 5_000
LARGE_PERIODS = ("AUT1", "AUT2", "SPR1", "SPR2", "SUM1", "SUM2")
LARGE_SUBJECTS = PRIMARY_SUBJECTS[:10]


async def test_a_300000_row_file_reports_its_progress_while_it_runs(ingest: Ingest) -> None:
    """The slowest test of ingest (a minute or two): 5,000 pupils x 6 periods x 10 subjects."""
    tracker = ingest.services.tracker
    await tracker.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Elm")])
    pupils = [PupilRecord(pupil_id=f"L{n:05d}", school_id="S1", year_group="Y4", sex="FM"[n % 2], fsm6=False,
                          lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI") for n in range(LARGE_PUPILS)]
    for start in range(0, LARGE_PUPILS, 2_000):
        await tracker.post_pupils(TRUST, pupils[start:start + 2_000])
    text = io.StringIO()
    text.write("pupil_id,school_id,academic_year,period,year_group,subject,band\n")
    bands = ("BELOW", "AT", "ABOVE")
    for n in range(LARGE_PUPILS):
        for period in LARGE_PERIODS:
            for i, subject in enumerate(LARGE_SUBJECTS):
                text.write(f"L{n:05d},S1,2025/26,{period},Y4,{subject},{bands[(n + i) % 3]}\n")
    content = text.getvalue().encode()
    total = LARGE_PUPILS * len(LARGE_PERIODS) * len(LARGE_SUBJECTS)
    validating: list[dict[str, Any]] = []
    storing: list[dict[str, Any]] = []

    response = await ingest.client.post("/v1/imports", headers=INGEST, files={"file": ("big.csv", content)},
                                        data={"kind": "summative"})
    ready = await settled(ingest, response.json()["import_id"], validating)
    done = await commit(ingest, ready, storing)

    assert total == 300_000 and (ready["rows_read"], ready["rows_valid"]) == (total, total)
    assert (done["state"], done["rows_stored"]) == ("done", total)
    read = [s["rows_read"] for s in validating]
    stored = [s["rows_stored"] for s in storing]
    assert read == sorted(read) and any(0 < n < total for n in read)
    assert stored == sorted(stored) and len({n for n in stored if 0 < n < total}) >= 2
    assert await count(ingest, ASSESSMENT) == total


async def test_the_command_line_uploads_commits_and_exits_0(ingest: Ingest) -> None:
    shown = io.StringIO()
    argv = [str(SAMPLES / "pupils.xlsx"), "--kind", "pupils", "--url", "http://ingest"]

    status = await import_cli.run(argv, ingest.client, "ingest", Console(file=shown, width=200), poll_seconds=0.02)

    assert status == 0
    assert "stored 50 rows of pupils.xlsx" in shown.getvalue()
    assert await count(ingest, PUPIL) == 50


async def test_the_command_line_prints_every_error_and_exits_1(ingest: Ingest, tmp_path: Path) -> None:
    await imported(ingest, SAMPLES / "pupils.csv", "pupils")
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_FILE)
    shown = io.StringIO()
    argv = [str(bad), "--kind", "summative", "--url", "http://ingest", "--mapping", '{"UPN": "pupil_id", "School": "school_id"}']

    status = await import_cli.run(argv, ingest.client, "ingest", Console(file=shown, width=300), poll_seconds=0.02)

    assert status == 1
    printed = shown.getvalue()
    assert "is invalid (5 errors; nothing was stored)" in printed
    for where in ("row 3, column 'Subject'", "row 4, column 'UPN'", "row 5, column 'Year Group'", "row 6, column 'Code'",
                  "row 7, column 'UPN'"):
        assert where in printed
    assert await count(ingest, ASSESSMENT) == 0


def test_the_command_line_takes_its_key_from_the_environment_only(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(import_cli.KEY_VARIABLE, raising=False)

    status = import_cli.main([str(SAMPLES / "pupils.csv"), "--kind", "pupils", "--url", "http://127.0.0.1:9"])

    assert status == 2 and "TIDEMARK_INGEST_TOKEN" in capsys.readouterr().err


async def test_any_replica_answers_an_imports_status_and_may_commit_it(ingest: Ingest, database_url: str) -> None:
    ready = await upload(ingest, "pupils.csv", (SAMPLES / "pupils.csv").read_bytes(), "pupils")

    async with in_process(ingest_settings(database_url)) as other:
        seen_there = (await other.client.get(f"/v1/imports/{ready['import_id']}", headers=INGEST)).json()
        done = await commit(other, seen_there)

    assert (seen_there["state"], seen_there["rows_valid"]) == ("ready", 50)
    assert (done["state"], done["rows_stored"]) == ("done", 50)
    assert (await ingest.client.get(f"/v1/imports/{ready['import_id']}", headers=INGEST)).json()["state"] == "done"
    assert await count(ingest, PUPIL) == 50


async def test_an_import_done_stays_done_whatever_stops_its_work_afterwards(ingest: Ingest) -> None:
    """Its work may still be writing the audit entry when the replica stops (and cancels it): only an
    import under way may be ended as failed."""
    ready = await upload(ingest, "pupils.csv", (SAMPLES / "pupils.csv").read_bytes(), "pupils")
    done = await commit(ingest, ready)

    ended = await ingest.services.imports.store.update(done["import_id"], when=UNDER_WAY, state=ImportState.FAILED)

    assert (done["state"], ended) == ("done", False)
    assert (await ingest.client.get(f"/v1/imports/{done['import_id']}", headers=INGEST)).json()["state"] == "done"


async def test_the_command_lines_check_validates_and_stores_nothing(ingest: Ingest) -> None:
    shown = io.StringIO()
    argv = [str(SAMPLES / "pupils.csv"), "--kind", "pupils", "--url", "http://ingest", "--check"]

    status = await import_cli.run(argv, ingest.client, "ingest", Console(file=shown, width=200), poll_seconds=0.02)

    assert (status, await count(ingest, PUPIL)) == (0, 0)
    assert "50 rows valid" in shown.getvalue()
