"""The shared democluster of the simulator's own tests (TLS + bearer token, fast, no scenario)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.democluster.helpers import Democluster


@pytest.fixture(scope="session")
def democluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Democluster]:
    folder = tmp_path_factory.mktemp("democluster")
    cluster = Democluster(folder, "--fresh", "--fast", "--no-scenario", "--token", "limited-token:pods,deployments")
    yield cluster.start()
    cluster.stop()
