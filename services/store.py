"""Where jobs live between requests and stages: job state, upload bytes, the decoded image, renders.

Two implementations with one interface: ``RedisJobStore`` (distributed mode: gateway and workers share it) and
``MemoryJobStore`` (embedded mode: one process). Every key of a job expires at the same instant: the job key's
expiry, fixed when the job is first saved as ``created_at + settings.job_ttl_s`` of whoever created it (the
gateway). Later writes, by any process, reuse that instant, so nothing of a job outlives its state, and a write
for a job whose state has already expired stores nothing. Stages change a job's state with ``update_job``, which
writes only while the state exists: a job deleted (``delete_job``) or evicted is never brought back.

Job data has a byte budget (``settings.store_max_bytes``, see ``services.budget``): ``reserve`` admits a new
job or raises ``StoreFull``, evicting the oldest finished jobs first; unfinished jobs are never evicted.

Key layout (``{p}`` = ``settings.key_prefix``)::

    {p}:job:{id}          JobState JSON
    {p}:img:{id}          upload bytes
    {p}:arr:{id}:{name}   numpy array (.npy bytes, no pickle), e.g. the decoded HxWx3 uint8 BGR image
    {p}:file:{id}:{path}  a rendered file, e.g. faces/0.svg, overlay.png
    {p}:attempts:{id}     stage runs of the job that started and never ended (a dead process), an integer
    {p}:batch:{id}        BatchState JSON (services.batches); {p}:batch:{id}:finished the set of its finished jobs
    {p}:stats:stage:{stage}  stage latency histogram (hash; counters, no TTL: not job data)
    {p}:stats:evictions   finished jobs evicted for room (counter, no TTL)
    {p}:budget:finished   finished jobs, oldest first (sorted set, score = finish time; Redis only)
    {p}:budget:reserved   what each unfinished job was admitted for (hash: id -> "bytes expires_at"; Redis only)
    {p}:events:finished   pub/sub channel: the id of every job that reached done or failed (``note_finished``),
                          published after its state; what wakes a request waiting for it (``gateway.completion``)
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import redis

from services.budget import StoreUsage
from services.contracts import FINISHED, JobState
from services.errors import PayloadTooLarge, ServiceUnavailable, StoreFull
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


# What a stage keeps of a job only while it runs (dropped, with the upload, when the job is done or failed).
# The boxes and attributes are not kept here: they travel with the stage messages (``StageHandoff``).
INTERMEDIATE_ARRAYS: tuple[str, ...] = ("bgr",)
# Key kinds that belong to one job (``{p}:{kind}:{id}...``): what the budget counts per job.
JOB_KEY_KINDS = frozenset({"job", "img", "arr", "file", "attempts"})
MIB = 1024 * 1024


def result_file_paths(job: JobState) -> list[str]:
    """The rendered files a done job can have: ``faces/{n}.svg`` per face, plus ``faces/{n}.png`` and
    ``overlay.png`` unless it was submitted with ``renders=svg``. ``compose_stage`` writes the SVGs and the overlay;
    a face PNG is written when it is first asked for (``services.renders``)."""
    if job.result is None:
        return []
    rasters = job.options.renders == "all"
    paths = []
    for face in job.result.faces:
        paths.append(f"faces/{face.index}.svg")
        if rasters:
            paths.append(f"faces/{face.index}.png")
    return [*paths, "overlay.png"] if rasters else paths


def _store_full(unfinished: int, held: int, max_bytes: int) -> StoreFull:
    return StoreFull(
        f"the job store is full: {unfinished} unfinished jobs hold {held / MIB:.1f} MiB of its "
        f"{max_bytes / MIB:.1f} MiB budget (EMOTICON_STORE_MAX_BYTES); retry in a few seconds"
    )


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
        self.max_bytes = settings.store_max_bytes

    # raw operations ------------------------------------------------------------------------------------------
    @abstractmethod
    def put(self, key: str, value: bytes, expires_at: float) -> None:
        """Store ``value`` until the unix time ``expires_at`` (seconds); a time already past stores nothing."""

    @abstractmethod
    def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    def update(self, key: str, value: bytes) -> bool:
        """Replace ``key``'s value, keeping its expiry, only if it exists; False (nothing stored) otherwise."""

    @abstractmethod
    def incr(self, key: str, expires_at: float) -> int:
        """Add 1 to the integer at ``key`` (0 when absent; kept until ``expires_at``) and return it."""

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

    @abstractmethod
    def add_member(self, key: str, member: str, expires_at: float) -> tuple[bool, int]:
        """Add ``member`` to the set at ``key`` (kept until ``expires_at``), atomically: (whether it was new,
        the set's size after the add). Adding a member twice changes nothing, so a redelivered message counts
        once, and exactly one of several concurrent adders sees the final size."""

    # the byte budget (services.budget) ------------------------------------------------------------------------
    @abstractmethod
    def _reserve(self, job_id: str, nbytes: int) -> None:
        """Admit ``job_id`` for ``nbytes`` (evicting finished jobs for room) or raise ``StoreFull``."""

    @abstractmethod
    def release(self, job_id: str) -> None:
        """Drop what ``job_id`` was admitted for (its submission failed, or it finished)."""

    @abstractmethod
    def note_finished(self, job_id: str) -> None:
        """``job_id`` is done or failed (its state already says so): it no longer counts as in flight and may be
        evicted, oldest first; whoever waits for it is told (``finished_channel`` or the memory store's
        listeners)."""

    @abstractmethod
    def forget(self, job_id: str) -> None:
        """Remove ``job_id`` from the budget's bookkeeping (its keys are being deleted)."""

    @abstractmethod
    def usage(self) -> StoreUsage: ...

    def reserve(self, job_id: str, nbytes: int) -> None:
        """Admit a new job that will hold at most ``nbytes`` (``services.budget.job_footprint``) before it is
        saved: evict the oldest finished jobs as needed; ``StoreFull`` when unfinished jobs leave no room, and
        ``PayloadTooLarge`` when the job alone is bigger than the whole budget (retrying would not help)."""
        if nbytes > self.max_bytes:
            raise PayloadTooLarge(
                f"this photo needs about {nbytes / MIB:.1f} MiB while it is analysed; this server keeps at most "
                f"{self.max_bytes / MIB:.1f} MiB of job data (EMOTICON_STORE_MAX_BYTES): send a smaller image"
            )
        self._reserve(job_id, nbytes)

    # keys ----------------------------------------------------------------------------------------------------
    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def upload_key(self, job_id: str) -> str:
        return f"{self.prefix}:img:{job_id}"

    def array_key(self, job_id: str, name: str) -> str:
        return f"{self.prefix}:arr:{job_id}:{name}"

    def file_key(self, job_id: str, path: str) -> str:
        return f"{self.prefix}:file:{job_id}:{path}"

    def attempts_key(self, job_id: str) -> str:
        return f"{self.prefix}:attempts:{job_id}"

    @property
    def finished_channel(self) -> str:
        """The pub/sub channel ``note_finished`` publishes each finished job's id on (Redis)."""
        return f"{self.prefix}:events:finished"

    def job_id_of(self, key: str) -> str | None:
        """The job a key belongs to (inverse of the layout above), or None for keys that are no job's."""
        head = f"{self.prefix}:"
        if not key.startswith(head):
            return None
        parts = key[len(head) :].split(":", 2)
        return parts[1] if len(parts) >= 2 and parts[0] in JOB_KEY_KINDS else None

    def job_keys(self, job_id: str, job: JobState | None = None) -> list[str]:
        """Every key ``job_id`` can have: state, upload, intermediates, attempt counter, and the renders of
        ``job`` (its state, when known)."""
        keys = [self.job_key(job_id), self.upload_key(job_id), self.attempts_key(job_id)]
        keys += [self.array_key(job_id, name) for name in INTERMEDIATE_ARRAYS]
        if job is not None:
            keys += [self.file_key(job_id, path) for path in result_file_paths(job)]
        return keys

    def expires_at(self, job: JobState) -> float:
        """When every key of ``job`` expires: its state's expiry, or 0 (store nothing) once that is gone."""
        return self.expiry_of(self.job_key(job.id)) or 0.0

    # typed helpers -------------------------------------------------------------------------------------------
    def save_job(self, job: JobState) -> None:
        """Save the state; the first save fixes the job's expiry at ``created_at + ttl``, later saves keep it.
        Save the state before any other key of the job."""
        expires_at = self.expiry_of(self.job_key(job.id)) or job.created_at + self.ttl_s
        self.put(self.job_key(job.id), job.model_dump_json().encode(), expires_at)
        if job.status in FINISHED:
            self.note_finished(job.id)

    def update_job(self, job: JobState) -> bool:
        """Save a new state of an existing job (its expiry kept); False, storing nothing, when the job is gone
        (deleted, evicted or expired), so a stage never brings a deleted job back."""
        if not self.update(self.job_key(job.id), job.model_dump_json().encode()):
            return False
        if job.status in FINISHED:
            self.note_finished(job.id)
        return True

    def delete_job(self, job_id: str) -> None:
        """Delete everything of a job at once (state, upload, intermediates, renders); a missing job is fine."""
        job = self.load_job(job_id)
        self.forget(job_id)
        self.delete(self.job_keys(job_id, job))

    def start_attempt(self, job: JobState) -> int:
        """Count a stage run of ``job`` that starts now; the count minus one is how many earlier runs started and
        never ended (``end_attempt``): processes that died on this job."""
        return self.incr(self.attempts_key(job.id), self.expires_at(job))

    def end_attempt(self, job_id: str) -> None:
        self.delete([self.attempts_key(job_id)])

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

    def save_file(self, job: JobState, path: str, data: bytes) -> None:
        self.put(self.file_key(job.id, path), data, self.expires_at(job))

    def load_file(self, job_id: str, path: str) -> bytes | None:
        return self.get(self.file_key(job_id, path))

    def intermediate_keys(self, job_id: str, arrays: Iterable[str] = INTERMEDIATE_ARRAYS) -> list[str]:
        """The keys a job needs only while it runs: upload, run counter, the ``arrays`` (the decoded photo)."""
        return [self.upload_key(job_id), self.attempts_key(job_id), *(self.array_key(job_id, a) for a in arrays)]

    def drop_intermediates(self, job_id: str, arrays: Iterable[str] = INTERMEDIATE_ARRAYS) -> None:
        """Delete the upload and the intermediates (the decoded photo...) once the job no longer needs them."""
        self.delete(self.intermediate_keys(job_id, arrays))

    def finish_job(self, job: JobState, files: dict[str, bytes] | None = None) -> bool:
        """Save ``job``'s final state (done or failed) with its rendered ``files`` (path -> bytes) and drop its
        upload and intermediates, in one round trip where the store allows (``update_with``); then tell
        ``note_finished``. False when the job is gone (deleted, evicted, expired): none of the files is kept and
        nobody is told. The intermediates are dropped either way."""
        files = files or {}
        expires_at = self.expires_at(job) if files else 0.0
        updated = self.update_with(
            self.job_key(job.id),
            job.model_dump_json().encode(),
            puts={self.file_key(job.id, path): data for path, data in files.items()},
            expires_at=expires_at,
            deletes=self.intermediate_keys(job.id),
        )
        if updated and job.status in FINISHED:
            self.note_finished(job.id)
        return updated

    def update_with(
        self, key: str, value: bytes, puts: dict[str, bytes], expires_at: float, deletes: Iterable[str]
    ) -> bool:
        """``update(key, value)`` together with ``put`` of each of ``puts`` (until ``expires_at``) and ``delete``
        of ``deletes``. When ``key`` does not exist, the puts are not kept. ``RedisJobStore`` does it in one
        transaction; this default makes the calls one by one."""
        self.delete(deletes)
        if not self.update(key, value):
            return False
        for put_key, data in puts.items():
            self.put(put_key, data, expires_at)
        return True


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

    def update(self, key: str, value: bytes) -> bool:
        try:
            return bool(self.client.set(key, value, xx=True, keepttl=True))
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc

    def update_with(
        self, key: str, value: bytes, puts: dict[str, bytes], expires_at: float, deletes: Iterable[str]
    ) -> bool:
        ms = round(expires_at * 1000)
        deletes = list(deletes)
        try:
            pipe = self.client.pipeline(transaction=True)  # MULTI/EXEC: one round trip, applied at once
            if ms > int(time.time() * 1000):
                for put_key, data in puts.items():
                    pipe.set(put_key, data, pxat=ms)
            if deletes:
                pipe.delete(*deletes)
            pipe.set(key, value, xx=True, keepttl=True)
            updated = bool(pipe.execute()[-1])
            if not updated and puts:  # the job is gone: what was just written must not outlive it
                self.client.delete(*puts)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc
        return updated

    def incr(self, key: str, expires_at: float) -> int:
        ms = round(expires_at * 1000)
        if ms <= int(time.time() * 1000):
            return 0
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.pexpireat(key, ms)
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc
        return int(count)

    # the budget: Redis used_memory, kept by the gateways (services.budget) -------------------------------------
    @property
    def _finished_key(self) -> str:
        return f"{self.prefix}:budget:finished"

    @property
    def _reserved_key(self) -> str:
        return f"{self.prefix}:budget:reserved"

    @property
    def _evictions_key(self) -> str:
        return f"{self.prefix}:stats:evictions"

    def used_memory(self) -> int:
        """Redis ``used_memory``: the bytes the whole server holds (what ``maxmemory`` limits too)."""
        return int(self.client.info("memory")["used_memory"])

    def memory_config(self) -> tuple[int | None, str | None]:
        """(``maxmemory`` in bytes, ``maxmemory-policy``), or (None, None) when ``CONFIG GET`` is refused."""
        try:
            config = self.client.config_get("maxmemory*")
        except redis.ResponseError:
            return None, None
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc
        maxmemory = config.get("maxmemory")
        policy = config.get("maxmemory-policy")
        return (int(maxmemory) if maxmemory is not None else None), policy

    def _reservations(self) -> dict[str, int]:
        """Live reservations by job id; the ones past their job's expiry are removed."""
        now = time.time()
        live: dict[str, int] = {}
        stale: list[bytes] = []
        for job_id, value in self.client.hgetall(self._reserved_key).items():
            nbytes, _, expires_at = value.decode().partition(" ")
            if float(expires_at or 0) <= now:
                stale.append(job_id)
            else:
                live[job_id.decode()] = int(nbytes)
        if stale:
            self.client.hdel(self._reserved_key, *stale)
        return live

    def _evict_oldest_finished(self) -> bool:
        """Delete the job that finished longest ago, whole; False when no finished job is left."""
        popped = self.client.zpopmin(self._finished_key, 1)
        if not popped:
            return False
        job_id = popped[0][0].decode()
        self.delete(self.job_keys(job_id, self.load_job(job_id)))
        self.client.incr(self._evictions_key)
        log.info("evicted a finished job for room", extra={"job_id": job_id})
        return True

    def _reserve(self, job_id: str, nbytes: int) -> None:
        try:
            while True:
                reserved = self._reservations()
                held = self.used_memory() + sum(reserved.values())
                if held + nbytes <= self.max_bytes:
                    expires_at = time.time() + self.ttl_s
                    self.client.hset(self._reserved_key, job_id, f"{nbytes} {expires_at}")
                    return
                if not self._evict_oldest_finished():
                    raise _store_full(len(reserved), held, self.max_bytes)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc

    def release(self, job_id: str) -> None:
        try:
            self.client.hdel(self._reserved_key, job_id)
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc

    def note_finished(self, job_id: str) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.zadd(self._finished_key, {job_id: time.time()})
            pipe.hdel(self._reserved_key, job_id)
            # jobs that expired on their own leave the index within one TTL
            pipe.zremrangebyscore(self._finished_key, "-inf", time.time() - self.ttl_s)
            pipe.publish(self.finished_channel, job_id)  # wakes waiting requests: one round trip with the rest
            pipe.execute()
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc

    def forget(self, job_id: str) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.zrem(self._finished_key, job_id)
            pipe.hdel(self._reserved_key, job_id)
            pipe.execute()
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc

    def usage(self) -> StoreUsage:
        try:
            reserved = self._reservations()
            pipe = self.client.pipeline(transaction=False)
            pipe.zcard(self._finished_key)
            pipe.get(self._evictions_key)
            finished, evictions = pipe.execute()
            used = self.used_memory()
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc
        return StoreUsage(
            used_bytes=used,
            reserved_bytes=sum(reserved.values()),
            max_bytes=self.max_bytes,
            finished_jobs=int(finished),
            unfinished_jobs=len(reserved),
            evictions=int(evictions or 0),
        )

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

    def add_member(self, key: str, member: str, expires_at: float) -> tuple[bool, int]:
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.sadd(key, member)
            pipe.scard(key)
            pipe.pexpireat(key, round(expires_at * 1000))
            added, size, _ = pipe.execute()
        except redis.RedisError as exc:
            raise ServiceUnavailable(f"redis: {exc}") from exc
        return bool(added), int(size)

    def stage_stats(self, stages: Iterable[str]) -> dict[str, StageStats]:
        out: dict[str, StageStats] = {}
        for stage in stages:
            raw = {k.decode(): v.decode() for k, v in self.client.hgetall(self._stats_key(stage)).items()}
            buckets = [int(raw.get(f"le:{bound}", 0)) for bound in (*STAGE_BUCKETS_S, "+Inf")]
            out[stage] = StageStats(buckets, float(raw.get("sum", 0.0)))
        return out


@dataclass
class _JobBytes:
    """The memory store's bookkeeping of one job: the bytes its keys hold and what it was admitted for."""

    keys: set[str] = field(default_factory=set)
    held: int = 0
    reserved: int = 0
    finished: bool = False
    reserved_until: float = 0.0  # a reservation whose job never got a key lapses then

    @property
    def extra(self) -> int:
        """Bytes counted on top of ``held``: what an unfinished job was admitted for and does not hold yet."""
        return 0 if self.finished else max(0, self.reserved - self.held)


class MemoryJobStore(JobStore):
    """The embedded mode's store: a dict guarded by a lock; expired entries are purged on access and on writes.

    It counts the bytes of every value and key (``len``), per job, and keeps them within ``store_max_bytes``:
    a write or an admission that needs room evicts finished jobs, the one that finished longest ago first."""

    PURGE_EVERY_S = 5.0

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._items: dict[str, tuple[bytes, float]] = {}
        self._stats: dict[str, StageStats] = {}
        self._lock = threading.Lock()
        self._last_purge = time.time()
        self._sizes: dict[str, int] = {}  # bytes counted per key (key + value)
        self._jobs: dict[str, _JobBytes] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()  # finished job ids, oldest first
        self._used = 0
        self._extra = 0  # sum of _JobBytes.extra
        self._evictions = 0
        self._finished_listeners: list[Callable[[str], None]] = []

    # bookkeeping (lock held) ---------------------------------------------------------------------------------
    def _entry_locked(self, job_id: str) -> _JobBytes:
        entry = self._jobs.get(job_id)
        if entry is None:
            entry = self._jobs[job_id] = _JobBytes()
        return entry

    def _drop_entry_locked(self, job_id: str) -> None:
        entry = self._jobs.pop(job_id, None)
        if entry is not None:
            self._extra -= entry.extra
        self._finished.pop(job_id, None)

    def _store_locked(self, key: str, value: bytes, expires_at: float) -> None:
        self._unstore_locked(key, keep_entry=True)
        self._items[key] = (bytes(value), expires_at)
        size = len(key) + len(value)
        self._sizes[key] = size
        self._used += size
        job_id = self.job_id_of(key)
        if job_id is not None:
            entry = self._entry_locked(job_id)
            before = entry.extra
            entry.held += size
            entry.keys.add(key)
            self._extra += entry.extra - before

    def _unstore_locked(self, key: str, keep_entry: bool = False) -> None:
        self._items.pop(key, None)
        size = self._sizes.pop(key, 0)
        self._used -= size
        job_id = self.job_id_of(key)
        entry = self._jobs.get(job_id) if job_id is not None else None
        if entry is None or key not in entry.keys:
            return
        before = entry.extra
        entry.held -= size
        entry.keys.discard(key)
        self._extra += entry.extra - before
        if not entry.keys and not keep_entry:
            self._drop_entry_locked(job_id)  # type: ignore[arg-type]

    def _charge_locked(self) -> int:
        return self._used + self._extra

    def _evict_locked(self, room: int, keep: str | None = None) -> None:
        """Evict finished jobs, oldest first, until ``room`` more bytes fit the budget (or none is left)."""
        while self._charge_locked() + room > self.max_bytes and self._finished:
            victim = next(iter(self._finished))
            if victim == keep:
                if len(self._finished) == 1:
                    return
                self._finished.move_to_end(victim)
                continue
            entry = self._jobs.get(victim)
            for key in list(entry.keys if entry else ()):
                self._unstore_locked(key)
            self._drop_entry_locked(victim)
            self._evictions += 1
            log.info("evicted a finished job for room", extra={"job_id": victim})

    def _purge_locked(self, now: float) -> None:
        expired = [key for key, (_, expires_at) in self._items.items() if expires_at <= now]
        for key in expired:
            self._unstore_locked(key)
        lapsed = [job_id for job_id, e in self._jobs.items() if not e.keys and e.reserved_until <= now]
        for job_id in lapsed:
            self._drop_entry_locked(job_id)
        self._last_purge = now

    # raw operations ------------------------------------------------------------------------------------------
    def put(self, key: str, value: bytes, expires_at: float) -> None:
        now = time.time()
        with self._lock:
            if now - self._last_purge >= self.PURGE_EVERY_S:
                self._purge_locked(now)
            if expires_at <= now:
                self._unstore_locked(key)
            else:
                self._store_locked(key, value, expires_at)
                # room for a job in flight comes from finished jobs; never from the job being written
                self._evict_locked(0, keep=self.job_id_of(key))

    def get(self, key: str) -> bytes | None:
        now = time.time()
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[1] <= now:
                self._unstore_locked(key)
                return None
            return item[0]

    def update(self, key: str, value: bytes) -> bool:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[1] <= time.time():
                return False
            self._store_locked(key, value, item[1])
            return True

    def incr(self, key: str, expires_at: float) -> int:
        now = time.time()
        with self._lock:
            item = self._items.get(key)
            live = item is not None and item[1] > now
            if not live and expires_at <= now:
                return 0
            count = int(item[0]) + 1 if live else 1  # type: ignore[index]
            self._store_locked(key, str(count).encode(), item[1] if live else expires_at)  # type: ignore[index]
            return count

    def delete(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._unstore_locked(key)

    # the budget ----------------------------------------------------------------------------------------------
    def _reserve(self, job_id: str, nbytes: int) -> None:
        now = time.time()
        with self._lock:
            if now - self._last_purge >= self.PURGE_EVERY_S:
                self._purge_locked(now)
            self._evict_locked(nbytes)
            if self._charge_locked() + nbytes > self.max_bytes:
                unfinished = len(self._jobs) - len(self._finished)
                raise _store_full(unfinished, self._charge_locked(), self.max_bytes)
            entry = self._entry_locked(job_id)
            before = entry.extra
            entry.reserved = nbytes
            entry.reserved_until = now + self.ttl_s
            self._extra += entry.extra - before

    def release(self, job_id: str) -> None:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None:
                return
            before = entry.extra
            entry.reserved = 0
            self._extra += entry.extra - before
            if not entry.keys:
                self._drop_entry_locked(job_id)

    def note_finished(self, job_id: str) -> None:
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is not None:
                self._extra -= entry.extra
                entry.finished = True
                self._finished[job_id] = None
                self._finished.move_to_end(job_id)
                self._evict_locked(0, keep=job_id)
        for listener in list(self._finished_listeners):
            listener(job_id)

    def add_finished_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(job_id)`` (on the finishing thread, after the state is saved) for every job that
        finishes: the embedded counterpart of ``finished_channel``."""
        self._finished_listeners.append(listener)

    def forget(self, job_id: str) -> None:
        with self._lock:
            entry = self._jobs.get(job_id)
            for key in list(entry.keys if entry else ()):
                self._unstore_locked(key)
            self._drop_entry_locked(job_id)

    def usage(self) -> StoreUsage:
        with self._lock:
            return StoreUsage(
                used_bytes=self._used,
                reserved_bytes=self._extra,
                max_bytes=self.max_bytes,
                finished_jobs=len(self._finished),
                unfinished_jobs=len(self._jobs) - len(self._finished),
                evictions=self._evictions,
            )

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

    def add_member(self, key: str, member: str, expires_at: float) -> tuple[bool, int]:
        now = time.time()
        with self._lock:
            item = self._items.get(key)
            live = item is not None and item[1] > now
            members = set(json.loads(item[0])) if live else set()  # type: ignore[index]
            added = member not in members
            members.add(member)
            keep_until = item[1] if live else expires_at  # type: ignore[index]
            self._items[key] = (json.dumps(sorted(members)).encode(), keep_until)
            return added, len(members)

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
