"""Tests of the staff read API (orders.api)."""
