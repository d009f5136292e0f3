"""Analysis tasks, routed to the `analysis` queue (the issue "Pipeline" fills it)."""
