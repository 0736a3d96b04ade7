"""Tests of the risk signals (orders/risk/)."""
