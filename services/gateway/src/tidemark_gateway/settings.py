"""Gateway settings (environment variables; see the gateway README)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from tidemark_gateway.domain.small_groups import DEFAULT_THRESHOLD
from tidemark_runtime.settings import DatabaseUrl, ServiceSettings


class GatewaySettings(ServiceSettings):
    port: int = 8000
    max_body_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Largest request body accepted (the gateway's API takes none): 413 above"
    )
    live_heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long one blocking XREAD waits before /v1/live sends a heartbeat comment",
    )
    live_batch_size: int = Field(default=100, gt=0, description="Change notices read per XREAD")
    live_queue_size: int = Field(
        default=1000, gt=0,
        description="Change notices a live page may fall behind its Trust's feed before it is ended (it resumes)",
    )
    answer_cache_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0,
        description="Rendered report answers kept in memory, in bytes (least recently served evicted first; 0: none)",
    )
    database_url: DatabaseUrl | None = Field(
        default=None,
        description="The SQL store, where people, sessions, API keys and the audit trail are (read on every request); "
        "unset, only the TIDEMARK_TOKENS fallback signs anyone in and /v1/auth, /v1/admin, /v1/audit answer 503",
    )
    ingest_url: str | None = Field(
        default=None, description="Ingest's base URL: the web UI's writes to `/ingest/{path}` are forwarded to its "
        "`/{path}`; unset, those paths answer 503",
    )
    ingest_max_body_bytes: int = Field(
        default=32 * 1024 * 1024, gt=0, description="Largest request body forwarded to ingest (`/ingest/...`, e.g. an "
        "import's file): 413 above, before ingest sees it (ingest enforces its own MAX_BODY_BYTES too)",
    )
    session_idle_minutes: float = Field(default=30, gt=0, description="A web session unused this long ends")
    session_absolute_hours: float = Field(default=12, gt=0, description="A web session ends this long after sign-in")
    oidc_issuer: str | None = Field(
        default=None, description="Single sign-on: the OpenID Connect issuer (Entra ID: "
        "`https://login.microsoftonline.com/<tenant>/v2.0`, Google: `https://accounts.google.com`); unset, none",
    )
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_label: str = Field(default="single sign-on", description="What the sign-in page's SSO button says")
    oidc_redirect_url: str | None = Field(
        default=None, description="The callback URL registered with the issuer (`https://<gateway>/v1/auth/oidc/callback`); "
        "unset, derived from the request",
    )
    counter_cache_hashes: int = Field(
        default=100_000, ge=0, description="Counter hashes kept parsed in memory (re-read only when their version moves)"
    )
    trust_names: dict[str, str] = Field(
        default_factory=dict, description="Each Trust's display name by Trust id (JSON: {\"trust-id\": \"Oak Learning "
        "Trust\"}), printed on its board pack; a Trust not named here is shown by its id",
    )
    small_group_threshold: int = Field(
        default=DEFAULT_THRESHOLD, ge=1,
        description="The Trust's small-group size: a group of fewer pupils (but at least one) is flagged "
        "`small_group` in every report, and the UI shows its count and a marker rather than a bold %",
    )
