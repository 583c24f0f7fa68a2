"""Simulation settings shared by the server, the controllers and the kubelet."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SimConfig:
    nodes: int = 3
    # Multiplies every simulated delay (image pulls, container starts, termination grace):
    # 1.0 is realistic seconds, 0.05 is the fast mode tests use.
    time_scale: float = 1.0
    # How often controllers wake up to reconcile work queued by store changes, in seconds.
    tick: float = 0.05

    def delay(self, seconds: float) -> float:
        return seconds * self.time_scale
