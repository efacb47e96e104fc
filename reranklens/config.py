"""Settings from one place: explicit arguments beat environment variables beat defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from platformdirs import user_data_path

from reranklens.errors import InvalidInputError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _app_root() -> Path:
    """Where ``app.py``, ``pages/``, ``components/`` and ``data/demo`` are.

    In a clone (or an editable install) that is the repository itself; an installed wheel carries the same
    tree as the ``reranklens_app`` folder beside this package (see ``[tool.setuptools]`` in pyproject.toml).
    """
    installed = PROJECT_ROOT / "reranklens_app"
    return installed if (installed / "app.py").is_file() else PROJECT_ROOT


APP_ROOT = _app_root()
# True when running from an installed wheel, whose folder is no place for a user's stores.
INSTALLED = APP_ROOT != PROJECT_ROOT
DEMO_DIR = APP_ROOT / "data" / "demo"
# A clone keeps its stores in the git-ignored data/store; an installed app in the user's data folder
# (~/.local/share/reranklens on Linux, ~/Library/Application Support/reranklens on macOS).
DEFAULT_DATA_DIR = user_data_path("reranklens", appauthor=False) if INSTALLED else PROJECT_ROOT / "data" / "store"
DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_RERANKER = "cross-encoder/ms-marco-MiniLM-L-6-v2"
# 200 word-piece tokens of chunk + a short query + 3 special tokens fit the 256-token window of the
# MiniLM cross-encoders, so the reranker sees every chunk whole.
DEFAULT_CHUNK_TOKENS = 200
DEFAULT_CHUNK_OVERLAP = 40
# Loose files (.md .txt .html .pdf) above this size are skipped with a message: a 20 MB text file is
# ~10,000 chunks, more likely a log or a data dump than documentation. BEIR corpus.jsonl is not limited.
DEFAULT_MAX_FILE_MB = 20
DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_OPENAI_TIMEOUT_S = 60.0
DEFAULT_PAID_CALLS_PER_HOUR = 60
DEFAULT_MAX_TRAIN_STEPS = 5_000
# Training runs and evaluations running at once on a shared server (more wait in the job queue).
DEFAULT_MAX_JOBS = 1
# Queued + running jobs one user may have at once, so one visitor cannot fill the queue.
DEFAULT_MAX_JOBS_PER_USER = 2


DATABASE_URL_ENV = "RERANKLENS_DATABASE_URL"


def database_url_from_env() -> str | None:
    """``RERANKLENS_DATABASE_URL``: the PostgreSQL database that holds the shared state (None: SQLite files in
    the data dir). Read by ``reranklens.database`` for every store, so the stores need no settings passed in."""
    return os.environ.get(DATABASE_URL_ENV, "").strip() or None


def _env_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidInputError(f"{name} must be an integer, got {raw!r}: fix or unset it.") from exc


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise InvalidInputError(f"{name} must be a number of seconds above 0, got {raw!r}: fix or unset it.")
    return value


def _env_list(name: str) -> tuple[str, ...]:
    """A comma-separated list, trimmed and lower-cased (addresses and @domains)."""
    return tuple(part.strip().lower() for part in os.environ.get(name, "").split(",") if part.strip())


def _env_ids(name: str) -> tuple[str, ...]:
    """A comma-separated list of ids, trimmed, case kept (OIDC subject ids are case-sensitive)."""
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


def _env_paths(name: str) -> tuple[Path, ...]:
    """A list of paths separated by ``os.pathsep`` (``:`` on Linux), each resolved (symlinks, ``..``)."""
    parts = [part.strip() for part in os.environ.get(name, "").split(os.pathsep)]
    return tuple(Path(part).expanduser().resolve() for part in parts if part)


@dataclass(frozen=True)
class Settings:
    """Everything RerankLens needs to know about its environment.

    ``openai_api_key`` is excluded from ``repr`` so it never reaches a log or an error message.
    """

    data_dir: Path = DEFAULT_DATA_DIR
    chroma_host: str | None = None
    chroma_port: int = 8000
    embedder: str = DEFAULT_EMBEDDER
    reranker: str = DEFAULT_RERANKER
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    max_file_mb: int = DEFAULT_MAX_FILE_MB
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    openai_chat_model: str = DEFAULT_CHAT_MODEL
    openai_timeout_s: float = DEFAULT_OPENAI_TIMEOUT_S
    # "MODEL=INPUT/OUTPUT,..." in USD per million tokens; overrides the table in reranklens.llm.client.
    openai_prices: str | None = None
    rerank_api_url: str | None = None
    rerank_api_key: str | None = field(default=None, repr=False)
    rerank_api_model: str = "rerank-v3.5"
    # Cross-encoder backend: auto (GPU: torch; CPU: the fastest backend that keeps torch's ranking),
    # torch, onnx or onnx-int8. rerank_max_tokens caps the pair length (None: the model's window).
    rerank_backend: str = "auto"
    rerank_max_tokens: int | None = None
    # Bi-encoder backend: auto (ONNX Runtime for sentence-transformers models with mean pooling, so a
    # query never imports torch; torch for any other model), onnx, or torch (the plain
    # SentenceTransformer.encode path, also the baseline of bench/query_cold.py).
    embed_backend: str = "auto"
    # ONNX exports of cross-encoders and bi-encoders, keyed by a fingerprint of the weights (default: data_dir/exports).
    export_dir: Path | None = None
    # Folders the app's "Folder on the server" may ingest from (RERANKLENS_INGEST_ROOTS, os.pathsep-separated,
    # resolved); empty: that ingest is off. The CLI is not limited.
    ingest_roots: tuple[Path, ...] = ()
    # Shared-server limits (reranklens.access.limits): chat models a page may use (empty: the configured
    # one only), paid API calls per user per hour, training steps per run.
    chat_models: tuple[str, ...] = ()
    paid_calls_per_hour: int = DEFAULT_PAID_CALLS_PER_HOUR
    max_train_steps: int = DEFAULT_MAX_TRAIN_STEPS
    # Jobs (training, evaluations, sweeps) running at once in the app's queue (reranklens.access.jobs).
    max_jobs: int = DEFAULT_MAX_JOBS
    max_jobs_per_user: int = DEFAULT_MAX_JOBS_PER_USER
    # Golden sets, saved runs, trace sets, the audit log and job records: a PostgreSQL URL (it may hold a
    # password, so it is kept out of repr), or None for SQLite files in data_dir (reranklens.database).
    database_url: str | None = field(default=None, repr=False)
    # With OIDC sign-in: addresses or @domains of admins and labelers (granted only to verified addresses),
    # and the provider's subject ids (``sub``, exact) of admins and labelers (reranklens.access.roles).
    admins: tuple[str, ...] = ()
    labelers: tuple[str, ...] = ()
    admin_subs: tuple[str, ...] = ()
    labeler_subs: tuple[str, ...] = ()
    # Hosts a visitor may make the server connect to (reranklens.access.hosts): Chroma servers to attach and
    # live retrievers to connect; empty: loopback only.
    attach_hosts: tuple[str, ...] = ()
    connect_hosts: tuple[str, ...] = ()
    # The Phoenix the server's owner configured (RERANKLENS_PHOENIX_URL): the only address PHOENIX_API_KEY is
    # sent to; a pull from any other URL carries no credentials.
    phoenix_url: str | None = None
    phoenix_api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Read ``RERANKLENS_*``, ``CHROMA_*`` and ``OPENAI_*`` variables; ``overrides`` win."""
        env = os.environ
        settings = cls(
            data_dir=Path(env.get("RERANKLENS_DATA_DIR") or DEFAULT_DATA_DIR).expanduser(),
            chroma_host=env.get("CHROMA_HOST") or None,
            chroma_port=_env_int("CHROMA_PORT", 8000) or 8000,
            embedder=env.get("RERANKLENS_EMBEDDER") or DEFAULT_EMBEDDER,
            reranker=env.get("RERANKLENS_RERANKER") or DEFAULT_RERANKER,
            chunk_tokens=_env_int("RERANKLENS_CHUNK_TOKENS", DEFAULT_CHUNK_TOKENS) or DEFAULT_CHUNK_TOKENS,
            chunk_overlap=_env_int("RERANKLENS_CHUNK_OVERLAP", DEFAULT_CHUNK_OVERLAP) or 0,
            max_file_mb=_env_int("RERANKLENS_MAX_FILE_MB", DEFAULT_MAX_FILE_MB) or DEFAULT_MAX_FILE_MB,
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=env.get("OPENAI_BASE_URL") or None,
            openai_chat_model=env.get("OPENAI_CHAT_MODEL") or DEFAULT_CHAT_MODEL,
            openai_timeout_s=_env_seconds("RERANKLENS_OPENAI_TIMEOUT", DEFAULT_OPENAI_TIMEOUT_S),
            openai_prices=env.get("RERANKLENS_OPENAI_PRICES") or None,
            rerank_api_url=env.get("RERANKLENS_RERANK_URL") or None,
            rerank_api_key=env.get("RERANKLENS_RERANK_API_KEY") or None,
            rerank_api_model=env.get("RERANKLENS_RERANK_MODEL") or "rerank-v3.5",
            rerank_backend=(env.get("RERANKLENS_RERANK_BACKEND") or "auto").strip().lower(),
            rerank_max_tokens=_env_int("RERANKLENS_RERANK_MAX_TOKENS", None),
            embed_backend=(env.get("RERANKLENS_EMBED_BACKEND") or "auto").strip().lower(),
            export_dir=Path(env["RERANKLENS_EXPORT_DIR"]).expanduser() if env.get("RERANKLENS_EXPORT_DIR") else None,
            ingest_roots=_env_paths("RERANKLENS_INGEST_ROOTS"),
            admins=_env_list("RERANKLENS_ADMINS"),
            labelers=_env_list("RERANKLENS_LABELERS"),
            admin_subs=_env_ids("RERANKLENS_ADMIN_SUBS"),
            labeler_subs=_env_ids("RERANKLENS_LABELER_SUBS"),
            attach_hosts=_env_list("RERANKLENS_ATTACH_HOSTS"),
            connect_hosts=_env_list("RERANKLENS_CONNECT_HOSTS"),
            phoenix_url=env.get("RERANKLENS_PHOENIX_URL") or None,
            phoenix_api_key=env.get("PHOENIX_API_KEY") or None,
            chat_models=tuple(m.strip() for m in env.get("RERANKLENS_CHAT_MODELS", "").split(",") if m.strip()),
            paid_calls_per_hour=_env_int("RERANKLENS_PAID_CALLS_PER_HOUR", DEFAULT_PAID_CALLS_PER_HOUR)
            or DEFAULT_PAID_CALLS_PER_HOUR,
            max_train_steps=_env_int("RERANKLENS_MAX_TRAIN_STEPS", DEFAULT_MAX_TRAIN_STEPS) or DEFAULT_MAX_TRAIN_STEPS,
            max_jobs=_env_int("RERANKLENS_MAX_JOBS", DEFAULT_MAX_JOBS) or DEFAULT_MAX_JOBS,
            max_jobs_per_user=_env_int("RERANKLENS_MAX_JOBS_PER_USER", DEFAULT_MAX_JOBS_PER_USER)
            or DEFAULT_MAX_JOBS_PER_USER,
            database_url=database_url_from_env(),
        )
        given = {key: value for key, value in overrides.items() if value is not None}
        return replace(settings, **given) if given else settings

    @property
    def allowed_chat_models(self) -> tuple[str, ...]:
        """The chat models pages may use: ``RERANKLENS_CHAT_MODELS``, else only ``OPENAI_CHAT_MODEL``."""
        return self.chat_models or (self.openai_chat_model,)

    @property
    def golden_db_path(self) -> Path:
        return self.data_dir / "golden.sqlite"

    @property
    def traces_db_path(self) -> Path:
        return self.data_dir / "traces.sqlite"

    @property
    def runs_db_path(self) -> Path:
        return self.data_dir / "runs.sqlite"

    @property
    def exports_path(self) -> Path:
        return self.export_dir or self.data_dir / "exports"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"
