"""services.remote.plan_batches: files split into batches in order, within the file and byte limits."""

from __future__ import annotations

from services.remote import plan_batches


def test_batches_keep_the_order_and_the_limits() -> None:
    assert plan_batches([10] * 5, max_files=2, max_bytes=1000) == [range(2), range(2, 4), range(4, 5)]
    assert plan_batches([400, 400, 400, 100], max_files=10, max_bytes=1000) == [range(2), range(2, 4)]
    assert plan_batches([5000, 1, 1], max_files=10, max_bytes=1000) == [range(1), range(1, 3)]  # alone
    assert plan_batches([], max_files=3, max_bytes=10) == []
    sizes = [7, 300, 2, 999, 1, 1, 640]
    planned = plan_batches(sizes, max_files=3, max_bytes=1000)
    assert [i for r in planned for i in r] == list(range(len(sizes)))
    assert all(len(r) <= 3 and (sum(sizes[i] for i in r) <= 1000 or len(r) == 1) for r in planned)
