"""Tests that drive a real browser against a real Jupyter server (marker: browser)."""
