"""services.budget: a job's footprint, the fill level, and which Redis memory settings the budget can live with."""

from __future__ import annotations

import pytest

from services.budget import StoreUsage, job_footprint, redis_memory_problems

GIB = 1024**3


def test_footprint_counts_upload_decoded_image_and_renders_of_its_size() -> None:
    assert job_footprint(300_000, 512 * 512 * 3) == 300_000 + 2 * 786_432
    assert job_footprint(10, 0) == 10


def test_fill_is_used_plus_reserved_over_the_budget() -> None:
    usage = StoreUsage(
        used_bytes=300, reserved_bytes=100, max_bytes=1000, finished_jobs=2, unfinished_jobs=1, evictions=4
    )
    assert usage.fill == pytest.approx(0.4)
    assert usage.as_dict() == {
        "used_bytes": 300,
        "reserved_bytes": 100,
        "max_bytes": 1000,
        "finished_jobs": 2,
        "unfinished_jobs": 1,
        "evictions": 4,
        "fill": 0.4,
    }


def test_no_maxmemory_is_fine_the_gateways_keep_the_budget() -> None:
    assert redis_memory_problems(0, "allkeys-lru", GIB) == []
    assert redis_memory_problems(0, "noeviction", GIB) == []


def test_noeviction_with_room_for_the_budget_is_fine() -> None:
    assert redis_memory_problems(2 * GIB, "noeviction", GIB) == []
    assert redis_memory_problems(GIB, "noeviction", GIB) == []


@pytest.mark.parametrize(
    "policy",
    ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-ttl", "volatile-random"],
)
def test_every_evicting_policy_is_a_problem(policy: str) -> None:
    (problem,) = redis_memory_problems(2 * GIB, policy, GIB)
    assert policy in problem and "noeviction" in problem


def test_maxmemory_below_the_budget_is_a_problem() -> None:
    (problem,) = redis_memory_problems(GIB // 2, "noeviction", GIB)
    assert "below EMOTICON_STORE_MAX_BYTES" in problem and str(GIB) in problem
    assert len(redis_memory_problems(GIB // 2, "allkeys-lru", GIB)) == 2


def test_unreadable_settings_are_not_reported_as_problems() -> None:
    assert redis_memory_problems(None, None, GIB) == []
