"""What the audit trail records: one action per line, with its actor, time, school and details."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    PASSWORD_CHANGED = "password_changed"
    PERSON_CREATED = "person_created"
    PERSON_CHANGED = "person_changed"
    PERSON_DISABLED = "person_disabled"
    PERSON_ENABLED = "person_enabled"
    PASSWORD_RESET = "password_reset"
    KEY_CREATED = "key_created"
    KEY_REVOKED = "key_revoked"
    BATCH = "batch"
    IMPORT = "import"
    MAPPING_FORGOTTEN = "mapping_forgotten"
    LOCK = "lock"
    UNLOCK = "unlock"
    CALENDAR = "calendar"
    EXPORT = "export"
    PUPIL_LIST = "pupil_list"
