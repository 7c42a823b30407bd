"""Rewriting a grounded draft with a trained version: units, decoding, constraints, frame."""
