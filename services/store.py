"""Where jobs live between requests and stages: job state, upload bytes, intermediate arrays/JSON, renders.

Two implementations with one interface: ``RedisJobStore`` (distributed mode: gateway and workers share it) and
``MemoryJobStore`` (embedded mode: one process). Every key of a job expires at the same instant: the job key's
expiry, fixed when the job is first saved as ``created_at + settings.job_ttl_s`` of whoever created it (the
gateway). Later writes, by any process, reuse that instant, so nothing of a job outlives its state, and a write
for a job whose state has already expired stores nothing.

Key layout (``{p}`` = ``settings.key_prefix``)::

    {p}:job:{id}          JobState JSON
    {p}:img:{id}          upload bytes
    {p}:arr:{id}:{name}   numpy array (.npy bytes, no pickle), e.g. the decoded HxWx3 uint8 BGR image
    {p}:json:{id}:{name}  intermediate JSON, e.g. boxes after detection
    {p}:file:{id}:{path}  a rendered file, e.g. faces/0.svg, overlay.png
    {p}:stats:stage:{stage}  stage latency histogram (hash; counters, no TTL: not job data)
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import numpy as np
import redis

from services.contracts import JobState
from services.errors import ServiceUnavailable
from services.settings import Settings

log = logging.getLogger(__name__)

# Upper bounds (seconds) of the stage latency histogram buckets; the last bucket is +Inf.
STAGE_BUCKETS_S: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class StageStats:
    """A cumulative latency histogram of one stage: ``buckets[i]`` counts observations <= ``STAGE_BUCKETS_S[i]``
    (the last entry is +Inf, i.e. the total count); ``total_s`` is the sum of all observations in seconds."""

    def __init__(self, buckets: list[int], total_s: float) -> None:
        self.buckets = buckets
        self.total_s = total_s

    @property
    def count(self) -> int:
        return self.buckets[-1]


def _bucket_fields(seconds: float) -> list[str]:
    """Names of the histogram fields an observation increments (cumulative: every bucket it fits in)."""
    fields = [f"le:{bound}" for bound in STAGE_BUCKETS_S if seconds <= bound]
    return [*fields, "le:+Inf"]


def _encode_array(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _decode_array(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


class JobStore(ABC):
    """Typed access to a job's keys; subclasses provide the raw byte operations."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.key_prefix
        self.ttl_s = settings.job_ttl_s

    # raw operations ------------------------------------------------------------------------------------------
    @abstractmethod
    def put(self, key: str, value: bytes, expires_at: float) -> None:
        """Store ``value`` until the unix time ``expires_at`` (seconds); a time already past stores nothing."""

    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def delete(self, keys: Iterable[str]) -> None: ...

    @abstractmethod
    def expiry_of(self, key: str) -> float | None:
        """The unix time (seconds) at which ``key`` expires; None when it does not exist."""

    @abstractmethod
    def ping(self) -> bool:
        """True when the backing store answers."""

    @abstractmethod
    def record_stage(self, stage: str, seconds: float) -> None:
        """Add one stage latency observation to the shared histogram."""

    @abstractmethod
    def stage_stats(self, stages: Iterable[str]) -> dict[str, StageStats]: ...

    # keys ----------------------------------------------------------------------------------------------------
    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def upload_key(self, job_id: str) -> str:
        return f"{self.prefix}:img:{job_id}"

    def array_key(self, job_id: str, name: str) -> str:
        return f"{self.prefix}:arr:{job_id}:{name}"

    def json_key(self, job_id: str, name: str) -> str:
        return f"{self.prefix}:json:{job_id}:{name}"

    def file_key(self, job_id: str, path: str) -> str:
        return f"{self.prefix}:file:{job_id}:{path}"

    def expires_at(self, job: JobState) -> float:
        """When every key of ``job`` expires: its state's expiry, or 0 (store nothing) once that is gone."""
        return self.expiry_of(self.job_key(job.id)) or 0.0

    # typed helpers -------------------------------------------------------------------------------------------
    def save_job(self, job: JobState) -> None:
        """Save the state; the first save fixes the job's expiry at ``created_at + ttl``, later saves keep it.
        Save the state before any other key of the job."""
        expires_at = self.expiry_of(self.job_key(job.id)) or job.created_at + self.ttl_s
        self.put(self.job_key(job.id), job.model_dump_json().encode(), expires_at)

    def load_job(self, job_id: str) -> JobState | None:
        data = self.get(self.job_key(job_id))
        return None if data is None else JobState.model_validate_json(data)

    def save_upload(self, job: JobState, data: bytes) -> None:
        self.put(self.upload_key(job.id), data, self.expires_at(job))

    def load_upload(self, job_id: str) -> bytes | None:
        return self.get(self.upload_key(job_id))

    def save_array(self, job: JobState, name: str, array: np.ndarray) -> None:
        self.put(self.array_key(job.id, name), _encode_array(array), self.expires_at(job))

    def load_array(self, job_id: str, name: str) -> np.ndarray | None:
        data = self.get(self.array_key(job_id, name))
        return None if data is None else _decode_array(data)

    def save_json(self, job: JobState, name: str, value: Any) -> None:
        self.put(self.json_key(job.id, name), json.dumps(value).encode(), self.expires_at(job))

    def load_json(self, job_id: str, name: str) -> Any | None:
        data = self.get(self.json_key(job_id, name))
        return None if data is None else json.loads(data)

    def save_file(self, job: JobState, path: str, data: bytes) -> None:
        self.put(self.file_key(job.id, path), data, self.expires_at(job))

    def load_file(self, job_id: str, path: str) -> bytes | None:
        return self.get(self.file_key(job_id, path))

    def drop_intermediates(self, job_id: str, arrays: Iterable[str] = (), jsons: Iterable[str] = ()) -> None:
        """Delete the upload and the named intermediates once the job no longer needs them."""
        keys = [self.upload_key(job_id)]
        keys += [self.array_key(job_id, name) for name in arrays]
        keys += [self.json_key(job_id, name) for name in jsons]
        self.delete(keys)


class RedisJobStore(JobStore):
    """The store shared by the gateway and the workers. Redis errors surface as ``ServiceUnavailable``."""

    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        super().__init__(settings)
        self.client = client or redis_client(settings)

    def put(self, key: str, value: bytes, expires_at: float) -> None:
        ms = round(expires_at * 1000)
        try:
            if ms <= int(time.time() * 1000):
                self.client.delete(key)
            else:
                self.client.set(key, value, pxat=ms)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(key)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if not keys:
            return
        try:
            self.client.delete(*keys)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc

    def expiry_of(self, key: str) -> float | None:
        try:
            ms = int(self.client.pexpiretime(key))
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc
        if ms == -2:
            return None
        if ms == -1:  # no expiry: not written by this store; treat as the default lifetime from now
            return time.time() + self.ttl_s
        return ms / 1000

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def _stats_key(self, stage: str) -> str:
        return f"{self.prefix}:stats:stage:{stage}"

    def record_stage(self, stage: str, seconds: float) -> None:
        key = self._stats_key(stage)
        try:
            pipe = self.client.pipeline(transaction=False)
            for field in _bucket_fields(seconds):
                pipe.hincrby(key, field, 1)
            pipe.hincrbyfloat(key, "sum", seconds)
            pipe.execute()
        except redis.RedisError:
            # metrics must never fail a job
            log.warning("could not record stage latency", extra={"stage": stage}, exc_info=True)

    def stage_stats(self, stages: Iterable[str]) -> dict[str, StageStats]:
        out: dict[str, StageStats] = {}
        for stage in stages:
            raw = {k.decode(): v.decode() for k, v in self.client.hgetall(self._stats_key(stage)).items()}
            buckets = [int(raw.get(f"le:{bound}", 0)) for bound in (*STAGE_BUCKETS_S, "+Inf")]
            out[stage] = StageStats(buckets, float(raw.get("sum", 0.0)))
        return out


class MemoryJobStore(JobStore):
    """The embedded mode's store: a dict guarded by a lock; expired entries are purged on access and on writes."""

    PURGE_EVERY_S = 5.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._items: dict[str, tuple[bytes, float]] = {}
        self._stats: dict[str, StageStats] = {}
        self._lock = threading.Lock()
        self._last_purge = time.time()

    def _purge_locked(self, now: float) -> None:
        expired = [key for key, (_, expires_at) in self._items.items() if expires_at <= now]
        for key in expired:
            del self._items[key]
        self._last_purge = now

    def put(self, key: str, value: bytes, expires_at: float) -> None:
        now = time.time()
        with self._lock:
            if now - self._last_purge >= self.PURGE_EVERY_S:
                self._purge_locked(now)
            if expires_at <= now:
                self._items.pop(key, None)
            else:
                self._items[key] = (bytes(value), expires_at)

    def get(self, key: str) -> bytes | None:
        now = time.time()
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[1] <= now:
                del self._items[key]
                return None
            return item[0]

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)

    def expiry_of(self, key: str) -> float | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[1] <= time.time():
                return None
            return item[1]

    def ping(self) -> bool:
        return True

    def __len__(self) -> int:
        """Live entries (expired ones are purged first)."""
        with self._lock:
            self._purge_locked(time.time())
            return len(self._items)

    def record_stage(self, stage: str, seconds: float) -> None:
        with self._lock:
            stats = self._stats.setdefault(stage, StageStats([0] * (len(STAGE_BUCKETS_S) + 1), 0.0))
            for i, bound in enumerate((*STAGE_BUCKETS_S, float("inf"))):
                if seconds <= bound:
                    stats.buckets[i] += 1
            stats.total_s += seconds

    def stage_stats(self, stages: Iterable[str]) -> dict[str, StageStats]:
        with self._lock:
            return {
                stage: StageStats(list(s.buckets), s.total_s)
                if (s := self._stats.get(stage))
                else StageStats([0] * (len(STAGE_BUCKETS_S) + 1), 0.0)
                for stage in stages
            }


def redis_client(settings: Settings) -> redis.Redis:
    """A client with short timeouts, so a Redis outage turns into a quick 503 rather than a hung request."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=5.0,
        socket_connect_timeout=2.0,
        health_check_interval=10,
    )
