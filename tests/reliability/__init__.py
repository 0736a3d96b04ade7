"""Reliability and security tests: faults, races, abuse, logs, privacy (issue 7)."""
