"""Feedback store: interactions, votes and index runs in SQL (SQLite by default)."""
