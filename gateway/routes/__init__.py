"""One router module per resource: jobs, render, health, metrics."""
