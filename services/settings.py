"""All configuration, in one pydantic-settings class read from ``EMOTICON_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    # Input limits
    max_upload_bytes: int = 15 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = Field(default=1600, description="decoded images are downscaled to this longest side")

    # Detector
    detector_confidence: float = Field(default=0.5, ge=0, le=1)
    detector_nms_iou: float = Field(default=0.3, ge=0, le=1)
    min_face_px: int = Field(default=20, ge=1, description="faces narrower than this are dropped")
    detector_input: int = Field(default=300, description="res10 network input side (it was trained at 300)")

    # Gateway
    host: str = "127.0.0.1"
    port: int = 8000
    max_queue_depth: int = Field(default=100, description="waiting jobs beyond this get 429")
    api_keys: list[str] = Field(default_factory=list, description="when set, X-API-Key must be one of these")
    max_wait_s: float = 30.0

    @property
    def detector_dir(self) -> Path:
        return self.cache_dir / "res10"


@lru_cache
def get_settings() -> Settings:
    return Settings()
