"""Style model and tone, by concern (ARCHITECTURE.md):

- `askdesk.styling.guards`: where the facts of a draft are, the placeholders that hide them from the
  model and the guard that a rewrite kept them; drafts passed through untouched.
- `askdesk.styling.model`: the base model and the prompt format, shared by training and generation.
- `askdesk.styling.generation`: the rewriter of a trained version: units, decoding, constraints,
frame.
- `askdesk.styling.training`: examples, fine-tuning a version, calibrating it, evaluating it.
- `askdesk.styling.tone`: the voice's rules, sentiment and the tone scorer
(`askdesk.styling.tone.scorer`).

Imports run downward: training → generation → model, guards, tone.voice.
"""
