"""The one configuration object of the hub.

Every setting comes from an ``RSERZ_``-prefixed environment variable so that the same code runs under
``make run``, in CI and in a region's data centre; nothing secret has a default here. The full list is
documented in ``docs/configuration.md`` and is generated from :data:`SETTINGS` so the two cannot drift.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RECONCILE_POLICIES = ("federal_wins", "review", "report")


#: set by `rserz up` for its children: the folder their logs go to (runtime/logs.py)
LOG_DIR_ENV = "RSERZ_LOG_DIR"


def supervised_log_dir() -> Path | None:
    """The log folder when the process runs under `rserz up`; None for a process on its own."""
    folder = os.environ.get(LOG_DIR_ENV)
    return Path(folder) if folder else None


def _default_var_dir() -> str:
    """var/ of the source checkout (make run, make test); for an installed wheel, var/ in the current
    directory — never inside site-packages."""
    if (PROJECT_ROOT / "setup.cfg").exists():
        return str(PROJECT_ROOT / "var")
    return str(Path.cwd() / "var")


@dataclass(frozen=True)
class Settings:
    """Settings of one hub process; build with :func:`load_settings`."""

    database_url: str | None = field(
        default=None,
        metadata={"env": "RSERZ_DATABASE_URL", "doc": "PostgreSQL URL; unset = embedded server under var/"},
    )
    database_replica_url: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_DATABASE_REPLICA_URL",
            "doc": "a streaming replica of the register for identification reads (identifyPerson, "
            "getPersonData, getInsuranceStatus, searchPersons); unset = everything on the primary",
        },
    )
    redis_url: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_REDIS_URL",
            "doc": "Redis URL (redis://…, or redis+sentinel://host:26379,host2:26379/<service>/<db> to follow "
            "the primary through Sentinel); unset = embedded server under var/",
        },
    )
    var_dir: str = field(
        default_factory=_default_var_dir,
        metadata={
            "env": "RSERZ_VAR_DIR",
            "doc": "where the hub writes: embedded databases, PKI, backups, exports",
        },
    )
    host: str = field(default="127.0.0.1", metadata={"env": "RSERZ_HOST", "doc": "web listen address"})
    port: int = field(default=8080, metadata={"env": "RSERZ_PORT", "doc": "web listen port"})
    emulators_port: int = field(
        default=8090, metadata={"env": "RSERZ_EMULATORS_PORT", "doc": "port of the ФЕРЗЛ/СМЭВ emulators"}
    )
    region_code: str = field(
        default="45",
        metadata={"env": "RSERZ_REGION_CODE", "doc": "two-digit region code (first digits of ЕНП)"},
    )
    region_okato: str = field(
        default="45000", metadata={"env": "RSERZ_REGION_OKATO", "doc": "OKATO of the region (TER_ST)"}
    )
    web_workers: int = field(
        default=2, metadata={"env": "RSERZ_WEB_WORKERS", "doc": "gunicorn worker processes"}
    )
    web_threads: int = field(
        default=1,
        metadata={
            "env": "RSERZ_WEB_THREADS",
            "doc": "threads per gunicorn worker: 1 = a sync worker (a connection per request), "
            "more = gthread workers with HTTP keep-alive, overlapping waits for PostgreSQL and Redis",
        },
    )
    demo_persons: int = field(
        default=20_000,
        metadata={"env": "RSERZ_DEMO_PERSONS", "doc": "size of the demo region made by the first `rserz up`"},
    )
    demo_seed: int = field(
        default=1, metadata={"env": "RSERZ_DEMO_SEED", "doc": "random seed of the demo region"}
    )
    buffer_rules: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_BUFFER_RULES",
            "doc": "TOML file of buffer decision rules; unset = the bundled ones",
        },
    )
    log_level: str = field(default="INFO", metadata={"env": "RSERZ_LOG_LEVEL", "doc": "logging level"})
    message_max_age: int = field(
        default=300,
        metadata={
            "env": "RSERZ_MESSAGE_MAX_AGE",
            "doc": "seconds a signed request may be old (its wsu:Created), whatever its wsu:Expires says",
        },
    )
    search_page_size: int = field(
        default=50,
        metadata={
            "env": "RSERZ_SEARCH_PAGE_SIZE",
            "doc": "the most persons one searchPersons page returns (the contract allows asking for up to 100)",
        },
    )
    disclosure_retention_days: int = field(
        default=1095,
        metadata={
            "env": "RSERZ_DISCLOSURE_RETENTION_DAYS",
            "doc": "days the disclosure log (which persons each answer showed to whom) is kept",
        },
    )
    metrics_allow: str = field(
        default="127.0.0.1,::1",
        metadata={
            "env": "RSERZ_METRICS_ALLOW",
            "doc": "addresses or networks (comma-separated) that may read /metrics; behind a proxy, protect it there too",
        },
    )
    clock_skew: int = field(
        default=60,
        metadata={
            "env": "RSERZ_CLOCK_SKEW",
            "doc": "seconds of clock difference granted to a participant's wsu:Timestamp, both ways",
        },
    )
    ferzl_url: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_FERZL_URL",
            "doc": "ФЕРЗЛ SOAP endpoint; unset = the bundled emulator at http://127.0.0.1:<emulators port>/ferzl",
        },
    )
    ferzl_api_version: str = field(
        default="24.2.6",
        metadata={
            "env": "RSERZ_FERZL_API_VERSION",
            "doc": "the ФЕРЗЛ API version the client speaks (in the URL path and every namespace)",
        },
    )
    ferzl_login: str = field(
        default="tfoms-45",
        metadata={"env": "RSERZ_FERZL_LOGIN", "doc": "the ТФОМС's login for a ФЕРЗЛ access token"},
    )
    ferzl_password_file: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_FERZL_PASSWORD_FILE",
            "doc": "file holding the ФЕРЗЛ password; unset = var/pki/ferzl/password (made for the emulator)",
        },
    )
    ferzl_ca_file: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_FERZL_CA_FILE",
            "doc": "CA bundle that verifies ФЕРЗЛ's TLS certificate (https only); unset = the system's",
        },
    )
    ferzl_served_versions: str = field(
        default="24.1.4,24.2.6",
        metadata={"env": "RSERZ_FERZL_SERVED_VERSIONS", "doc": "API versions the ФЕРЗЛ emulator serves"},
    )
    ferzl_timeout: float = field(
        default=30.0,
        metadata={"env": "RSERZ_FERZL_TIMEOUT", "doc": "seconds to wait for one ФЕРЗЛ answer"},
    )
    nsi_source: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_NSI_SOURCE",
            "doc": "where the scheduled НСИ update (hourly) and `rserz nsi update` find new directory versions: "
            "a folder of *.xml, an http(s) URL of one file or of a text index of files; unset = var/nsi/incoming",
        },
    )
    iszl_url: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_ISZL_URL",
            "doc": "the ИСЗЛ's notification endpoint; unset = the bundled emulator at "
            "http://127.0.0.1:<emulators port>/iszl",
        },
    )
    iszl_events: str = field(
        default="NEW_INSURED,SMO_CHANGED,DEATH,DEATH_CANCELLED,SUSPENDED,ENDED,ATTACHMENT",
        metadata={
            "env": "RSERZ_ISZL_EVENTS",
            "doc": "event kinds pushed to the ИСЗЛ (comma-separated; CHANGED adds every other change)",
        },
    )
    iszl_cert: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_ISZL_CERT",
            "doc": "the ИСЗЛ's certificate its answers must be signed with; unset = var/pki/iszl/cert.pem "
            "when present, else any certificate the hub's CAs trust",
        },
    )
    iszl_timeout: float = field(
        default=30.0, metadata={"env": "RSERZ_ISZL_TIMEOUT", "doc": "seconds to wait for the ИСЗЛ's answer"}
    )
    ferzl_push_lanes: int = field(
        default=2,
        metadata={
            "env": "RSERZ_FERZL_PUSH_LANES",
            "doc": "parallel senders of applications to ФЕРЗЛ (entries split by person, so each person's "
            "changes keep their order); one RQ worker runs one lane at a time",
        },
    )
    ferzl_push_parallel: int = field(
        default=8,
        metadata={
            "env": "RSERZ_FERZL_PUSH_PARALLEL",
            "doc": "calls to ФЕРЗЛ one sender keeps in flight at once, each about a different person (ФЕРЗЛ "
            "takes one person per call); 1 sends one at a time",
        },
    )
    ferzl_breaker_reset: float = field(
        default=30.0,
        metadata={
            "env": "RSERZ_FERZL_BREAKER_RESET",
            "doc": "seconds the ФЕРЗЛ circuit stays open after 5 failures in a row before one trial call",
        },
    )
    federal_first: bool = field(
        default=True,
        metadata={
            "env": "RSERZ_FEDERAL_FIRST",
            "doc": "accepted changes reach ФЕРЗЛ before they apply locally (0 only for an isolated test stand)",
        },
    )
    reconcile_policy: str = field(
        default="federal_wins",
        metadata={
            "env": "RSERZ_RECONCILE_POLICY",
            "doc": "what reconciliation does with a difference: federal_wins (unless pinned), review or report",
        },
    )
    ferzl_demo_divergence: float = field(
        default=0.01,
        metadata={
            "env": "RSERZ_FERZL_DEMO_DIVERGENCE",
            "doc": "share of demo persons the ФЕРЗЛ emulator holds differently from the region",
        },
    )
    smev_url: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_SMEV_URL",
            "doc": "СМЭВ 3 message exchange endpoint; unset = the bundled emulator at http://127.0.0.1:<emulators port>/smev3",
        },
    )
    smev_version: str = field(
        default="1.1",
        metadata={
            "env": "RSERZ_SMEV_VERSION",
            "doc": "message-exchange schema version the hub speaks (1.1 or 1.3)",
        },
    )
    smev_cert: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_SMEV_CERT",
            "doc": "PEM certificate СМЭВ signs with (SMEVSignature is pinned to it); unset = var/pki/smev/gost/cert.pem",
        },
    )
    smev_timeout: float = field(
        default=30.0, metadata={"env": "RSERZ_SMEV_TIMEOUT", "doc": "seconds to wait for one СМЭВ answer"}
    )
    smev_breaker_reset: float = field(
        default=30.0,
        metadata={
            "env": "RSERZ_SMEV_BREAKER_RESET",
            "doc": "seconds the СМЭВ circuit stays open after 5 failures in a row before one trial call",
        },
    )
    smev_log_bodies: bool = field(
        default=False,
        metadata={
            "env": "RSERZ_SMEV_LOG_BODIES",
            "doc": "keep СМЭВ message bodies in the exchange journal (they hold personal data: 152-ФЗ)",
        },
    )
    smev_mnemonic: str = field(
        default="TFOMS45",
        metadata={
            "env": "RSERZ_SMEV_MNEMONIC",
            "doc": "the ТФОМС's mnemonic in СМЭВ (the emulator routes ЗАГС pushes to it; real СМЭВ knows it by the certificate)",
        },
    )
    smev_redelivery: float = field(
        default=30.0,
        metadata={
            "env": "RSERZ_SMEV_REDELIVERY",
            "doc": "emulator: seconds a delivered, unacknowledged message waits before it is delivered again",
        },
    )
    smev_demo_events_per_hour: int = field(
        default=60,
        metadata={
            "env": "RSERZ_SMEV_DEMO_EVENTS_PER_HOUR",
            "doc": "emulator: deaths and births of the demo region ЗАГС pushes per hour (0 = only what the control API plants)",
        },
    )

    console_secret: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_CONSOLE_SECRET",
            "doc": "key that signs the console's cookies and form tokens (the same for every web process); "
            "unset = generated once into <var>/console/secret",
        },
    )
    console_idle_minutes: int = field(
        default=15,
        metadata={
            "env": "RSERZ_CONSOLE_IDLE_MINUTES",
            "doc": "a console session ends after this long without a request",
        },
    )
    console_session_hours: int = field(
        default=10,
        metadata={
            "env": "RSERZ_CONSOLE_SESSION_HOURS",
            "doc": "a console session ends this long after the login, whatever happens",
        },
    )
    console_lockout_attempts: int = field(
        default=5,
        metadata={
            "env": "RSERZ_CONSOLE_LOCKOUT_ATTEMPTS",
            "doc": "failed console logins in a row that lock the account",
        },
    )
    console_lockout_minutes: int = field(
        default=30,
        metadata={
            "env": "RSERZ_CONSOLE_LOCKOUT_MINUTES",
            "doc": "how long such a lock lasts (an administrator can lift it sooner)",
        },
    )
    console_password_min: int = field(
        default=12,
        metadata={"env": "RSERZ_CONSOLE_PASSWORD_MIN", "doc": "shortest password a console user may choose"},
    )
    console_secure_cookies: bool = field(
        default=False,
        metadata={
            "env": "RSERZ_CONSOLE_SECURE_COOKIES",
            "doc": "always mark the console's cookies Secure (behind a TLS proxy that does not say so); "
            "off = Secure whenever the request came over HTTPS",
        },
    )
    proxy_hops: int = field(
        default=0,
        metadata={
            "env": "RSERZ_PROXY_HOPS",
            "doc": "reverse proxies in front of the web process whose X-Forwarded-For/-Proto are trusted "
            "(the client's address in the security log)",
        },
    )

    exports_dir: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_EXPORTS_DIR",
            "doc": "where the scheduled jobs write snapshot exports and daily СМО change files "
            "(default: <var>/exports)",
        },
    )
    backup_dir: str | None = field(
        default=None,
        metadata={
            "env": "RSERZ_BACKUP_DIR",
            "doc": "where `rserz backup` and the nightly job write (default: <var>/backups)",
        },
    )
    backup_keep: int = field(
        default=7,
        metadata={
            "env": "RSERZ_BACKUP_KEEP",
            "doc": "backups kept; older ones are removed after a successful backup",
        },
    )

    @property
    def var_path(self) -> Path:
        return Path(self.var_dir)

    @property
    def exports_path(self) -> Path:
        return Path(self.exports_dir) if self.exports_dir else self.var_path / "exports"

    @property
    def backup_path(self) -> Path:
        return Path(self.backup_dir) if self.backup_dir else self.var_path / "backups"

    @property
    def ferzl_endpoint(self) -> str:
        return self.ferzl_url or f"http://127.0.0.1:{self.emulators_port}/ferzl"

    @property
    def nsi_update_source(self) -> str:
        return self.nsi_source or str(self.var_path / "nsi" / "incoming")

    @property
    def iszl_endpoint(self) -> str:
        return self.iszl_url or f"http://127.0.0.1:{self.emulators_port}/iszl"

    @property
    def smev_endpoint(self) -> str:
        return self.smev_url or f"http://127.0.0.1:{self.emulators_port}/smev3"

    @property
    def ferzl_password_path(self) -> Path:
        return (
            Path(self.ferzl_password_file)
            if self.ferzl_password_file
            else self.pki_dir / "ferzl" / "password"
        )

    @property
    def ferzl_versions(self) -> tuple[str, ...]:
        return tuple(v.strip() for v in self.ferzl_served_versions.split(",") if v.strip())

    @property
    def pki_dir(self) -> Path:
        return self.var_path / "pki"

    @property
    def embedded_pg_dir(self) -> Path:
        return self.var_path / "pg"

    @property
    def embedded_redis_dir(self) -> Path:
        return self.var_path / "redis"

    @property
    def urls_file(self) -> Path:
        """Where ``rserz up`` publishes the URLs of the embedded services for its children and the CLI."""
        return self.var_path / "services.env"


def _coerce(raw: str, typ: object) -> object:
    if typ in (int, "int"):
        return int(raw)
    if typ in (float, "float"):
        return float(raw)
    if typ in (bool, "bool"):
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(f"expected a yes/no value, got {raw!r}")
        return raw.lower() in ("1", "true", "yes", "on")
    return raw


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        name = f.metadata["env"]
        if env.get(name):
            values[f.name] = _coerce(env[name], f.type)
    settings = Settings(**values)  # type: ignore[arg-type]
    if not (len(settings.region_code) == 2 and settings.region_code.isdigit()):
        raise ValueError(f"RSERZ_REGION_CODE must be two digits, got {settings.region_code!r}")
    if settings.smev_version not in ("1.1", "1.3"):
        raise ValueError(f"RSERZ_SMEV_VERSION must be 1.1 or 1.3, got {settings.smev_version!r}")
    if settings.reconcile_policy not in RECONCILE_POLICIES:
        raise ValueError(f"RSERZ_RECONCILE_POLICY must be one of {RECONCILE_POLICIES}")
    return settings


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) rows for the documentation."""
    rows = []
    for f in fields(Settings):
        default = f.default_factory() if callable(f.default_factory) else f.default
        rows.append((f.metadata["env"], "" if default is None else str(default), f.metadata["doc"]))
    return rows


def configuration_markdown() -> str:
    """The text of ``docs/configuration.md``; a test keeps the file equal to it."""
    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable (generated from `rserz_soap/config.py`; do not edit by hand).",
        "Nothing secret has a default. Unset database/Redis URLs mean embedded servers under `RSERZ_VAR_DIR`.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for env, default, doc in settings_table():
        shown = default.replace(str(PROJECT_ROOT), "<project>")
        lines.append(f"| `{env}` | {f'`{shown}`' if shown else '—'} | {doc} |")
    return "\n".join(lines) + "\n"
