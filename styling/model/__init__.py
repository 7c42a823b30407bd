"""What training and generation share: the base model, the prompt a version is trained on and
used with, and loading a trained version folder."""
