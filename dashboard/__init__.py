"""Dashboard: accuracy and tone over time, and the reindex-vs-retrain decision."""
