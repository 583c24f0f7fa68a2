"""How long a watcher's batch waits for more events: a quiet kind writes a change at once (what a person watching a
page notices), a busy one gathers more a batch the busier it is (a batch's fixed cost is most of a small one's)."""

from __future__ import annotations

import pytest

from workloads.sync.watcher import batch_wait


@pytest.mark.parametrize(
    ("kind", "rate", "wait"),
    [
        ("Pod", 0, 0.01),
        ("Deployment", 100, 0.01),  # 50 changes a second with their status: still at once
        ("ReplicaSet", 250, 0.15),
        ("Pod", 350, 0.25),
        ("Pod", 2000, 0.25),  # never longer
        ("Event", 5, 0.01),
        ("Event", 40, 0.25),  # history: batched from a lower rate
    ],
)
def test_a_batch_waits_longer_the_busier_its_kind(kind: str, rate: float, wait: float) -> None:
    assert batch_wait(kind, rate) == pytest.approx(wait)
