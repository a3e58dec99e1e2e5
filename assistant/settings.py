"""The one settings object. Every tunable lives here; read it from the environment (ASSISTANT_*)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.roles import Channel


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where indexes and state are stored.")
    knowledge_dir: Path = Field(Path("knowledge"), description="Documents indexed by default.")
    prompts_dir: Path = Field(Path("prompts"), description="Prompt templates.")
    guardrails_dir: Path = Field(Path("guardrails"), description="The compliance policy (YAML).")
    evals_dir: Path = Field(Path("evals"), description="Question sets and reports.")
    evaldata_dir: Path = Field(
        Path("../shared/evaldata"), description="Third-party evaluation material."
    )
    index_name: str = Field("bank", min_length=3, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]+$")

    embedding_model: str = Field(
        "use-m3",
        description="use-m3 | e5-small | minilm | st:/path/to/a/sentence-transformers/model",
    )
    embedding_threads: int = Field(
        2, ge=1, description="BLAS threads for the embedder, for one caller (ingest, the CLI)."
    )
    serve_embedding_threads: int = Field(
        1,
        ge=1,
        description="BLAS threads per embedding in `assistant serve`: there concurrent turns "
        "are the parallelism, and more threads per call contend for the same cores.",
    )
    embedding_cache: int = Field(
        16384,
        ge=0,
        description="Vectors of recent texts kept in memory (about 2 KiB each at 512 "
        "dimensions): the passages' sentences a turn ranks come back turn after turn. 0: none.",
    )
    vector_store: str | None = Field(
        None,
        description="exact (every vector in one matrix, searched exhaustively) | chroma "
        "(embedded Chroma), or one a plugin registers. Default: exact, or the Chroma server "
        "when chroma_url is set.",
    )
    chroma_url: str | None = Field(
        None,
        description="A Chroma server (`chroma run`), e.g. http://chroma:8000: the index's "
        "vectors live there, one collection per generation, shared by every worker.",
    )
    index_catalog: Literal["files", "database"] | None = Field(
        None,
        description="Where the index keeps which generation is current and its passages: "
        "files (the data directory) or database (database_url, shared by every host). "
        "Default: database when chroma_url is set, else files.",
    )
    generator: str = Field(
        "extractive",
        description="Who writes answers: extractive (quotes the passages), llm (a language "
        "model, see llm_*), or one a plugin registers.",
    )
    llm_backend: Literal["local", "openai"] = Field(
        "local",
        description="local: a GGUF model from models/local.yaml run on this machine's CPU "
        "(`make llm` installs it); openai: any OpenAI-compatible server at llm_base_url.",
    )
    llm_model: str = Field(
        "qwen2.5-coder-1.5b",
        description="The model: a name in models/local.yaml (local), or the server's model name.",
    )
    llm_base_url: str | None = Field(
        None, description="The OpenAI-compatible server, e.g. http://vllm:8000/v1 (openai)."
    )
    llm_api_key: SecretStr | None = Field(None, description="The server's API key (openai).")
    llm_timeout_s: float = Field(
        30.0,
        gt=0,
        description="Longest wait for the model's next words; after it the turn is answered "
        "by the extractive composer instead.",
    )
    llm_retry_after_s: float = Field(
        30.0,
        ge=0,
        description="After the model server fails, turns are answered without it for this "
        "long before it is asked again.",
    )
    llm_max_tokens: int = Field(400, ge=16, description="Longest answer the model may write.")
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_threads: int = Field(
        1, ge=1, description="CPU threads of the local model; under load 1 beats 2 on 2 cores."
    )
    llm_context_tokens: int = Field(4096, ge=512, description="Context size of the local model.")
    llm_passages: int = Field(4, ge=1, le=10, description="Passages the model is given.")
    llm_min_support: float = Field(
        0.15,
        ge=0,
        le=1,
        description="A passage whose best sentence supports the question less than this is "
        "not given to the model; with none left the turn declines without asking it.",
    )
    grounding_attribution: float = Field(
        0.6,
        ge=0.5,
        le=1,
        description="A sentence the model left uncited is cited as the passage holding at "
        "least this share of its words; without one it is removed.",
    )
    models_file: Path = Field(
        Path("models/local.yaml"), description="The catalogue of local models."
    )
    plugins: list[str] = Field(
        default_factory=list,
        description="Python modules imported at start-up; each registers its own generators, "
        "embedders or vector stores.",
    )

    chunk_size: int = Field(360, ge=80, description="Target chunk length in characters.")
    chunk_overlap: int = Field(1, ge=0, le=3, description="Sentences repeated between chunks.")

    top_k: int = Field(5, ge=1, le=50)
    candidate_pool: int = Field(40, ge=5, description="Candidates each retriever hands to fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion damping constant.")
    subject_confirmation: int = Field(
        5,
        ge=0,
        description="A question that names a product is not answered from another "
        "product's sheet, when one of its own documents ranks within this many retrieved "
        "passages; 0 turns this off.",
    )
    subject_general_passages: Literal["all", "naming"] = Field(
        "all",
        description="For a question about a product, which passages of general documents "
        "(policies, procedures) may answer: all, or only those that name the product.",
    )
    min_answer_support: float = Field(
        0.32, ge=0, le=1, description="Below this support the composer declines to answer."
    )
    key_term_rarity: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A question word at least this rare (its weight as a share of an unknown "
        "word's) names what is asked; the composer declines when no passage mentions it.",
    )
    answer_max_sentences: int = Field(3, ge=1, description="Sentences a quoted answer holds.")
    answer_max_chars: int = Field(420, ge=50, description="Length a quoted answer stays within.")
    max_message_chars: int = Field(2000, ge=10)
    history_turns: int = Field(
        3, ge=0, description="Earlier questions of a session a follow-up is read against."
    )
    max_suggestions: int = Field(5, ge=1, description="Products suggested in one reply.")

    as_of: date | None = Field(
        None, description="Answer as of this day (effective dates); default: today."
    )
    claims_secret: str | None = Field(
        None, description="Key the customer app backend signs profile tokens (HS256) with."
    )
    host: str = "127.0.0.1"
    port: int = 8000

    database_url: str | None = Field(
        None,
        description="Where sessions, feedback and hand-offs are kept (SQLAlchemy URL); "
        "default: SQLite in the data directory. A postgresql+psycopg:// URL works too.",
    )
    audit_database_url: str | None = Field(
        None, description="Where the audit trail is kept; default: the same database."
    )
    audit_key: str | None = Field(
        None,
        description="Key the audit chain's hashes are made with (HMAC-SHA256). Kept out of "
        "the database, it stops anyone who can write the database from forging a chain "
        "that verifies; without it the chain shows tampering by anyone who does not "
        "recompute every later hash.",
    )
    session_retention_days: int = Field(
        365,
        ge=1,
        description="Conversations (masked questions, answers, feedback, hand-offs) older than "
        "this are removed by `assistant retention apply`.",
    )
    audit_retention_days: int = Field(
        1825,
        ge=365,
        description="Audit records older than this are purged by `assistant retention apply`, "
        "behind a purge mark the chain records; at least a year. Export them first "
        "(`assistant audit export`) where the bank keeps records longer.",
    )
    api_keys: dict[str, Channel] = Field(
        default_factory=dict,
        description='API key -> channel, e.g. {"k1": "teller", "k2": "customer_app"}. '
        "Empty: open local mode, loopback only, the request names its role.",
    )
    intranet_secret: str | None = Field(
        None,
        description="Key the intranet signs its users' tokens (HS256) with; default: a key "
        "made at start-up, good for the demo page only.",
    )
    widget_origins: list[str] = Field(
        default_factory=list, description="Origins whose pages may embed the widget (CORS)."
    )
    max_token_lifetime_s: int = Field(
        12 * 3600, ge=60, description="Longest lifetime (exp - iat) of an intranet token accepted."
    )
    console_secret: str | None = Field(
        None,
        description="Key the console's session cookies are signed with; default: one made at "
        "start-up (tellers sign in again after a restart). Several workers need the same key.",
    )
    console_session_hours: int = Field(8, ge=1, le=24, description="How long a sign-in lasts.")
    demo_pages: bool | None = Field(
        None,
        description="The widget's demo pages, which sign visitors in with the server's own "
        "key: default on in open local mode only; true refuses to start beside API keys or "
        "an intranet secret.",
    )
    shared_rate_limits: bool = Field(
        False,
        description="Count rate limits in the database, shared by every worker; "
        "`assistant serve --workers N` turns it on.",
    )
    rate_limit_per_minute: int = Field(60, ge=1, description="Requests per API key per minute.")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest request body accepted.")

    def today(self) -> date:
        return self.as_of or date.today()

    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'assistant.db'}"

    def audit_database(self) -> str:
        return self.audit_database_url or self.database()

    def shared_index(self) -> bool:
        """Whether the index's pointer and passages live in the database."""
        return (self.index_catalog or ("database" if self.chroma_url else "files")) == "database"

    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def index_dir(self, index_name: str | None = None) -> Path:
        return self.data_dir / "indexes" / (index_name or self.index_name)

    def prepared_vectors(self, index_name: str | None = None) -> Path:
        """The vectors `assistant ingest` prepares for the texts turns embed (this host's)."""
        return self.data_dir / "prepared" / f"{index_name or self.index_name}.sqlite"


@lru_cache
def get_settings() -> Settings:
    return Settings()
