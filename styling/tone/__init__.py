"""The voice's checkable rules, sentiment, and the tone scorer (how close a text is to it)."""
