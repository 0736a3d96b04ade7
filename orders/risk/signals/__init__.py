"""The signal functions, one module per family, each `(facts, lookups, config) -> Detection | None`."""
