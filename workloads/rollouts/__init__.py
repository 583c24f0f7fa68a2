"""Rollouts: how one is going and why it stalls, its history, and the actions on it (scale, pause, undo...)."""
