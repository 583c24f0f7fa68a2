"""Live pages: publishing what changed after each sync batch, and the WebSocket that re-renders it."""
