"""Facts kept by construction: fact spans, placeholders, the guard, drafts passed through."""
