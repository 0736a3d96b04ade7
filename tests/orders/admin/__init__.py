"""Tests of the staff admin (orders.admin)."""
