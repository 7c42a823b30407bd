"""Training a style version: the examples, fine-tuning, opener calibration, evaluation."""
