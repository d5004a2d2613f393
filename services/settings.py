"""All configuration, in one pydantic-settings class read from ``EMOTICON_*`` environment variables."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "emoticon"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMOTICON_", env_file=None, extra="ignore")

    # Where things live
    model_dir: Path = Field(default=REPO_ROOT / "models", description="ONNX heads + manifest.json")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="res10 detector files go here")

    # Mode and broker
    mode: Literal["embedded", "distributed"] = "embedded"
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "emoticon"

    # Lifetimes (seconds)
    job_ttl_s: int = Field(default=3600, ge=1, description="uploads, results and job state expire after this")
    task_soft_time_limit_s: int = 60
    task_hard_time_limit_s: int = 90
    broker_visibility_timeout_s: int = Field(
        default=120,
        description="an unacknowledged task is redelivered after this; must exceed task_hard_time_limit_s",
    )
    max_stage_crashes: int = Field(
        default=2,
        ge=1,
        description="a job whose stage process died this many times (a poison input) fails with worker_crashed",
    )

    # Job store budget: job data (uploads, decoded images, renders, state) kept at most this many bytes
    store_max_bytes: int = Field(
        default=192 * 1024 * 1024,  # about 480 finished one-face 512 px jobs (0.4 MiB of renders each)
        ge=1,
        description="embedded: the in-memory store's bytes; distributed: Redis used_memory, kept by the gateway "
        "(set it below Redis maxmemory). Oldest finished jobs are evicted first; full of unfinished jobs: 503",
    )

    # Input limits
    max_upload_bytes: int = 15 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = Field(default=1600, description="decoded images are downscaled to this longest side")
    max_aspect_ratio: float = Field(
        default=20.0, ge=1, description="images longer than this many times their width (or wider) get 422"
    )

    # Detector (docs/detector.md)
    detector_confidence: float = Field(
        default=0.45, ge=0, le=1, description="res10 boxes under this confidence are dropped"
    )
    detector_nms_iou: float = Field(default=0.3, ge=0, le=1)
    min_face_px: int = Field(default=20, ge=1, description="faces narrower than this are dropped")
    detector_input: int = Field(
        default=300,
        ge=32,
        description="no image is seen at fewer than this squared network pixels (its aspect ratio kept); "
        "res10 was trained at 300x300",
    )
    detector_smallest_face_px: int = Field(
        default=32,
        ge=4,
        description="the face width (image pixels) the detector's input scale is chosen for: a 640x480 photo is "
        "seen at 512x384; smaller values cost more time (pixels grow with its inverse square)",
    )
    detector_max_input_pixels: int = Field(
        default=200_000,
        ge=1024,
        description="the most network pixels the detector spends on one image: in larger photos the scale drops "
        "and the smallest face found grows (1600x1200: about 80 px)",
    )

    # Classifier
    frame_shape: bool = Field(
        default=True,
        description="run the frame-shape head (round / rectangular lenses) on faces wearing clear glasses, when "
        "models/manifest.json lists it (heads.frame); on by default: 92 % on held-out seed photos (its card)",
    )

    # Gateway
    host: str = "127.0.0.1"
    port: int = 8000
    max_queue_depth: int = Field(default=100, description="waiting jobs beyond this get 429")
    api_keys: list[str] = Field(default_factory=list, description="when set, X-API-Key must be one of these")
    max_wait_s: float = 30.0

    # Browsers on other origins (CORS, /v1 only). A list is JSON or comma-separated in the environment.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins whose pages may call /v1 (e.g. https://app.example.com; '*' for any); none by default",
    )

    # Batches (POST /v1/batches)
    batch_max_files: int = Field(default=500, ge=1, description="files in one batch")
    batch_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1, description="the whole multipart body")

    # Webhooks (callback_url of a job or a batch)
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the signature; a callback_url is refused while unset"
    )
    webhook_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="host names, addresses or networks (CIDR) a callback may reach although private, loopback "
        "or link-local",
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0, description="one delivery attempt")
    webhook_max_attempts: int = Field(default=6, ge=1)
    webhook_backoff_s: float = Field(default=1.0, ge=0, description="first retry after this; doubles each time")
    webhook_backoff_max_s: float = Field(default=60.0, ge=0)

    @field_validator("cors_origins", "webhook_allow", mode="before")
    @classmethod
    def _list_from_env(cls, value: Any) -> Any:
        """``'["a", "b"]'`` or ``'a, b'`` from the environment; lists pass through."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    # Tests only: off unless set
    fault_crash_sha256: str = Field(
        default="",
        description="TESTS ONLY. A worker's detector process given an upload with this sha256 kills itself "
        "(SIGKILL), as a native crash in a decoder would; empty (the default) disables the hook",
    )

    @property
    def detector_dir(self) -> Path:
        return self.cache_dir / "res10"


@lru_cache
def get_settings() -> Settings:
    return Settings()
