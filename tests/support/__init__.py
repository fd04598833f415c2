"""Shared helpers for the test suite (independent validators, servers, databases)."""
