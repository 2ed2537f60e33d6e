"""The report layer: what a person and a CI system see (console lines, evidence,
files, budgets, the timeline)."""
