// Podium's small client: everything else is htmx.
