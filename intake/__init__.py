"""Intake: the doors institutions push through (REST and signed channel), their credentials and the push log."""
