"""Orders: the normalized domain of a push, its review, exports and risk signals."""
