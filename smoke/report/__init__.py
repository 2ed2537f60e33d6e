"""The report layer: what a person and a CI system see (console lines, errors and
their hints, masking, evidence, files, budgets)."""
