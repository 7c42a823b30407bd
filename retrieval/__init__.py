"""Retrieval: load and chunk documents, embed them, keep a LanceDB index, search it."""
