"""The byte budget of job data (``settings.store_max_bytes``): what a job may need, how full the store is, and
whether a Redis server is configured so the budget can hold.

Both stores keep the same rule: a new job is admitted only when the bytes already held, plus what jobs in flight
were admitted for, plus the new job's ``job_footprint``, fit the budget, after evicting the oldest *finished*
jobs (whole: state, renders, everything) to make room. Unfinished jobs are never evicted; when they alone fill
the budget the new job is refused (``StoreFull``: 503 ``store_full`` with ``Retry-After``).

- Embedded (``MemoryJobStore``): the bytes are the values and keys it holds.
- Distributed (``RedisJobStore``): the bytes are Redis ``used_memory`` (the whole server: run one Redis per
  deployment), kept by the gateways. Redis itself must never evict a job's keys or a queued message behind
  their back, hence ``redis_memory_problems``: either no ``maxmemory`` (the gateways' budget is the only bound)
  or ``maxmemory`` at least the budget with ``maxmemory-policy noeviction``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Redis' policies; all but noeviction may delete keys of jobs in flight (volatile-*: every job key has a TTL)
# or, for allkeys-*, the Celery queues themselves.
SAFE_REDIS_POLICY = "noeviction"


@dataclass(frozen=True)
class StoreUsage:
    """How full the job store is, in bytes. ``reserved_bytes``: what unfinished jobs were admitted for beyond
    the bytes they hold yet (embedded), or in all (distributed, where it is counted on top of used_memory)."""

    used_bytes: int
    reserved_bytes: int
    max_bytes: int
    finished_jobs: int
    unfinished_jobs: int
    evictions: int

    @property
    def fill(self) -> float:
        """(used + reserved) / max, 0..1 (above 1 only while jobs in flight outgrow their estimate)."""
        return (self.used_bytes + self.reserved_bytes) / self.max_bytes

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "fill": round(self.fill, 4)}


def job_footprint(upload_bytes: int, decoded_bytes: int) -> int:
    """The most bytes one job holds at once: its upload, its decoded ``HxWx3 uint8`` image (``decoded_bytes``
    = H * W * 3) and renders of about that size again (the overlay is that image as PNG), before the upload
    and the decoded image are dropped at the end of the job."""
    return upload_bytes + 2 * decoded_bytes


def redis_memory_problems(maxmemory: int | None, policy: str | None, max_bytes: int) -> list[str]:
    """What is wrong with a Redis server's memory settings for a job store budget of ``max_bytes``; empty when
    nothing is. ``None`` means the setting could not be read (``CONFIG GET`` refused, as on some managed Redis):
    that is not reported as a problem, only unknown."""
    problems: list[str] = []
    if maxmemory is None or policy is None:
        return problems
    if maxmemory == 0:
        return problems  # Redis never evicts; EMOTICON_STORE_MAX_BYTES, kept by the gateways, bounds job data
    if policy != SAFE_REDIS_POLICY:
        problems.append(
            f"maxmemory-policy is {policy}: Redis may evict keys of jobs in flight or queued messages when full; "
            f"set maxmemory-policy {SAFE_REDIS_POLICY}"
        )
    if maxmemory < max_bytes:
        problems.append(
            f"maxmemory ({maxmemory} bytes) is below EMOTICON_STORE_MAX_BYTES ({max_bytes} bytes): Redis would "
            "refuse writes before the gateways evict finished jobs; set the budget below maxmemory"
        )
    return problems
