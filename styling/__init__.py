"""Style model and tone, by concern (ARCHITECTURE.md):

- `styling.guards`: where the facts of a draft are, the placeholders that hide them from the
  model and the guard that a rewrite kept them; drafts passed through untouched.
- `styling.model`: the base model and the prompt format, shared by training and generation.
- `styling.generation`: the rewriter of a trained version: units, decoding, constraints, frame.
- `styling.training`: examples, fine-tuning a version, calibrating it, evaluating it.
- `styling.tone`: the voice's rules, sentiment and the tone scorer (`styling.tone.scorer`).

Imports run downward: training → generation → model, guards, tone.voice.
"""
