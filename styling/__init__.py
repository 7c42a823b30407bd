"""Style model: fine-tuning a small generative model on the team's voice, and the tone score."""
