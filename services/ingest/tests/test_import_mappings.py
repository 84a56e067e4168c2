"""Saved column mappings of bulk import, over HTTP on a real PostgreSQL store: a mapping committed
with an import is saved for its school, kind and file shape and reads that school's next upload
without a mapping; an upload's own mapping wins; another school's file is not read with it; it can
be listed and forgotten (in the audit trail), by a key of the school only; an import that is not
committed saves nothing; `tidemark-import` says when it used one. And the fields a file of each kind may feed, for the
mapping step."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select

from tidemark_identity.adapters.store import AUDIT
from tidemark_ingest.adapters.store import ASSESSMENT
from tidemark_ingest.entrypoints import import_cli
from tidemark_ingest.testing import TRUST, Ingest, in_process, ingest_settings
from tidemark_schemas.records import AssessmentRecord, PupilRecord, SchoolRecord

INGEST = {"Authorization": "Bearer ingest"}
FINISHED = {"invalid", "ready", "done", "failed"}
TERM = {"academic_year": "2025/26", "period": "AUT1"}

TRACKER_EXPORT = """UPN,School,Year,Subject,Result,Teacher
P1,S1,Y3,reading,AT,Ms A
P2,S1,Y3,reading,BELOW,Ms A
"""
"""An export whose headers name no field: it needs a mapping."""
MAPPING = {"UPN": "pupil_id", "School": "school_id", "Year": "year_group", "Result": "band"}

NEXT_TERM = """Subject,upn,Result,Year,School,Teacher
maths,P1,ABOVE,Y3,S1,Ms A
maths,P2,AT,Y3,S1,Ms A
"""
"""The same tracker's export next term: the same headers, another order and case."""


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    """Two schools, two pupils at S1 and one at S2; a key of S2 only (`Bearer s2`)."""
    tokens = {"ingest": {"trust_id": TRUST, "role": "ingest"},
              "s2": {"trust_id": TRUST, "role": "ingest", "schools": ["S2"]},
              "viewer": {"trust_id": TRUST, "role": "viewer"}}
    async with in_process(ingest_settings(database_url, tidemark_tokens=tokens)) as running:
        tracker = running.services.tracker
        await tracker.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak"),
                                           SchoolRecord(school_id="S2", name="Ash")])
        await tracker.post_pupils(TRUST, [
            PupilRecord(pupil_id=pupil, school_id=school, year_group="Y3", sex="F", fsm6=False, lac=False, plac=False,
                        sen="N", eal=False, ethnicity="WBRI")
            for pupil, school in (("P1", "S1"), ("P2", "S1"), ("Q1", "S2"))])
        yield running


async def upload(ingest: Ingest, content: str, headers: dict[str, str] = INGEST, **form: str) -> dict[str, Any]:
    response = await ingest.client.post("/v1/imports", headers=headers, files={"file": ("export.csv", content.encode())},
                                        data={"kind": "summative", **TERM, **form})
    assert response.status_code == 202, response.text
    return await settled(ingest, response.json()["import_id"], headers)


async def settled(ingest: Ingest, import_id: str, headers: dict[str, str] = INGEST) -> dict[str, Any]:
    for _ in range(5_000):
        status: dict[str, Any] = (await ingest.client.get(f"/v1/imports/{import_id}", headers=headers)).json()
        if status["state"] in FINISHED:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"import {import_id} never finished")


async def committed(ingest: Ingest, status: dict[str, Any], headers: dict[str, str] = INGEST) -> dict[str, Any]:
    assert status["state"] == "ready", status["errors"][:5]
    response = await ingest.client.post(f"/v1/imports/{status['import_id']}/commit", headers=headers)
    assert response.status_code == 202, response.text
    done = await settled(ingest, status["import_id"], headers)
    assert done["state"] == "done", done
    return done


async def saved(ingest: Ingest, headers: dict[str, str] = INGEST, **query: str) -> list[dict[str, Any]]:
    response = await ingest.client.get("/v1/imports/mappings", headers=headers, params=query)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def entered(ingest: Ingest) -> set[tuple[Any, ...]]:
    async with ingest.services.engine.connect() as connection:
        found = await connection.execute(select(ASSESSMENT.c.pupil_id, ASSESSMENT.c.subject, ASSESSMENT.c.entered_band))
    return {tuple(row) for row in found}


async def test_a_mapping_committed_with_an_import_reads_the_schools_next_upload_of_that_shape(ingest: Ingest) -> None:
    first = await committed(ingest, await upload(ingest, TRACKER_EXPORT, mapping=json.dumps(MAPPING)))

    kept = await saved(ingest, school_id="S1", kind="summative")
    second = await upload(ingest, NEXT_TERM)  # no mapping: the saved one reads it
    await committed(ingest, second)

    assert first["mapping_from"] == "upload"
    assert [(m["school_id"], m["kind"], m["mapping"], m["headers"]) for m in kept] == [
        ("S1", "summative", MAPPING, ["UPN", "School", "Year", "Subject", "Result", "Teacher"])]
    assert second["saved_mapping_id"] == kept[0]["mapping_id"] and first["saved_mapping_id"] is None
    assert (second["mapping_from"], second["mapping"]) == (  # keyed by this file's own headers
        "saved", {"upn": "pupil_id", "Result": "band", "Year": "year_group", "School": "school_id"})
    assert second["columns"] == {"Subject": "subject", "upn": "pupil_id", "Result": "band", "Year": "year_group",
                                 "School": "school_id", "Teacher": None}
    assert await entered(ingest) == {("P1", "reading", "AT"), ("P2", "reading", "BELOW"),
                                     ("P1", "maths", "ABOVE"), ("P2", "maths", "AT")}


async def test_an_upload_with_a_mapping_of_its_own_is_read_with_that_one(ingest: Ingest) -> None:
    await committed(ingest, await upload(ingest, TRACKER_EXPORT, mapping=json.dumps(MAPPING)))
    own = {"upn": "pupil_id", "School": "school_id", "Year": "year_group", "Result": "band", "Period": ""}
    with_notes = NEXT_TERM.replace("Teacher\n", "Period\n").replace("Ms A\n", "last term\n")

    status = await upload(ingest, with_notes, mapping=json.dumps(own))

    assert (status["mapping_from"], status["mapping"], status["state"]) == ("upload", own, "ready")
    assert status["columns"]["Period"] is None  # "" ignores a column that would match a field by name


async def test_another_schools_file_of_the_same_shape_is_not_read_with_it(ingest: Ingest) -> None:
    await committed(ingest, await upload(ingest, TRACKER_EXPORT, mapping=json.dumps(MAPPING)))
    other_school = TRACKER_EXPORT.replace("P1,S1", "Q1,S2").replace("P2,S1,", "Q1,S2,")

    by_row = await upload(ingest, other_school)
    by_default = await upload(ingest, other_school, school_id="S2")
    same_school = await upload(ingest, NEXT_TERM, school_id="S1")

    assert (by_row["mapping_from"], by_row["state"]) == (None, "invalid")
    assert [(e["row"], e["column"]) for e in by_row["errors"]][:2] == [(None, "pupil_id"), (None, "school_id")]
    assert (by_default["mapping_from"], by_default["state"]) == (None, "invalid")
    assert (same_school["mapping_from"], same_school["state"]) == ("saved", "ready")


async def test_a_forgotten_mapping_no_longer_reads_the_schools_uploads(ingest: Ingest) -> None:
    await committed(ingest, await upload(ingest, TRACKER_EXPORT, mapping=json.dumps(MAPPING)))
    [kept] = await saved(ingest)

    forgotten = await ingest.client.delete(f"/v1/imports/mappings/{kept['mapping_id']}", headers=INGEST)
    again = await ingest.client.delete(f"/v1/imports/mappings/{kept['mapping_id']}", headers=INGEST)
    status = await upload(ingest, NEXT_TERM)

    assert (forgotten.status_code, again.status_code) == (204, 404)
    assert await saved(ingest) == []
    async with ingest.services.engine.connect() as connection:
        trail = [(r.action, r.school_id, r.detail) for r in await connection.execute(
            select(AUDIT.c.action, AUDIT.c.school_id, AUDIT.c.detail).where(AUDIT.c.action == "mapping_forgotten"))]
    assert [(action, school, detail["kind"], detail["mapping"]) for action, school, detail in trail] == [
        ("mapping_forgotten", "S1", "summative", MAPPING)]  # once: the second DELETE found nothing
    assert (status["mapping_from"], status["state"]) == (None, "invalid")
    assert status["columns"] == {"Subject": "subject", "upn": None, "Result": None, "Year": None, "School": None,
                                 "Teacher": None}  # what a mapping step shows, though the file cannot be read


async def test_a_school_scoped_key_sees_and_forgets_only_its_schools_mappings(ingest: Ingest) -> None:
    await committed(ingest, await upload(ingest, TRACKER_EXPORT, mapping=json.dumps(MAPPING)))
    [kept] = await saved(ingest)
    s2 = {"Authorization": "Bearer s2"}

    listed = await saved(ingest, s2)
    asked_for_s1 = await ingest.client.get("/v1/imports/mappings", headers=s2, params={"school_id": "S1"})
    forgetting = await ingest.client.delete(f"/v1/imports/mappings/{kept['mapping_id']}", headers=s2)
    own_upload = await upload(ingest, TRACKER_EXPORT.replace("P1,S1", "Q1,S2").replace("P2,S1,", "Q1,S2,"), s2)

    assert listed == [] and asked_for_s1.status_code == 403 and forgetting.status_code == 404
    assert own_upload["mapping_from"] is None  # S1's mapping reads no upload of S2
    assert await saved(ingest) == [kept]


async def test_an_import_not_committed_saves_no_mapping(ingest: Ingest) -> None:
    invalid = await upload(ingest, TRACKER_EXPORT.replace("P2,S1", "NOBODY,S1"), mapping=json.dumps(MAPPING))
    ready = await upload(ingest, TRACKER_EXPORT, mapping=json.dumps(MAPPING))

    assert (invalid["state"], ready["state"]) == ("invalid", "ready")
    assert await saved(ingest) == []


async def test_a_file_of_several_schools_saves_its_mapping_for_each_and_committing_again_keeps_one(
    ingest: Ingest,
) -> None:
    trust_wide = TRACKER_EXPORT + "Q1,S2,Y3,reading,AT,Mr B\n"

    await committed(ingest, await upload(ingest, trust_wide, mapping=json.dumps(MAPPING)))
    first = await saved(ingest)
    await committed(ingest, await upload(ingest, trust_wide.replace("reading", "writing")))
    second = await saved(ingest)

    assert sorted(m["school_id"] for m in first) == ["S1", "S2"]
    assert sorted((m["school_id"], m["mapping_id"]) for m in second) == sorted(
        (m["school_id"], m["mapping_id"]) for m in first)  # the same shape: kept once, used again
    assert min(m["updated_at"] for m in second) > max(m["updated_at"] for m in first)


async def test_the_fields_a_file_may_feed_come_from_the_record_models(ingest: Ingest) -> None:
    summative = (await ingest.client.get("/v1/imports/fields", headers=INGEST, params={"kind": "summative"})).json()
    statutory = (await ingest.client.get("/v1/imports/fields", headers=INGEST, params={"kind": "statutory"})).json()
    viewer = await ingest.client.get("/v1/imports/fields", headers={"Authorization": "Bearer viewer"},
                                     params={"kind": "pupils"})

    required = {f["name"]: f["required"] for f in summative["fields"]}
    assert list(required) == list(AssessmentRecord.model_fields)
    assert (required["pupil_id"], required["subject"], required["band"]) == (True, True, False)
    assert {"reading", "maths", "E01"} <= set(summative["columns"])
    assert {"ks2_reading_test", "ks2_reading_test_mark", "phonics_year1"} <= set(statutory["columns"])
    assert summative["defaultable"] == ["school_id", "academic_year", "period"]
    assert viewer.status_code == 403


async def test_the_command_line_says_it_read_a_file_with_the_saved_mapping(ingest: Ingest, tmp_path: Path) -> None:
    await committed(ingest, await upload(ingest, TRACKER_EXPORT, mapping=json.dumps(MAPPING)))
    export = tmp_path / "next-term.csv"
    export.write_text(NEXT_TERM)
    shown = io.StringIO()
    argv = [str(export), "--kind", "summative", "--academic-year", "2025/26", "--period", "AUT1", "--url", "http://ingest"]

    status = await import_cli.run(argv, ingest.client, "ingest", Console(file=shown, width=300), poll_seconds=0.02)

    assert status == 0
    assert "read with the column mapping saved for this school and file shape" in shown.getvalue()
    assert ("P2", "maths", "AT") in await entered(ingest)
