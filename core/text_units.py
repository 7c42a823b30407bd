"""Quotable units of text: defined in `askdesk.retrieval.text_units`, because the indexer cuts the
same passages the composer quotes (and embeds them); re-exported for the answer core's callers."""

from askdesk.retrieval.text_units import (
    Kind,
    Unit,
    content_words,
    row_cells,
    split_sentences,
    split_units,
    stem,
    terms,
)

__all__ = [
    "Kind",
    "Unit",
    "content_words",
    "row_cells",
    "split_sentences",
    "split_units",
    "stem",
    "terms",
]
