"""What training and generation share: the base model and the prompt a version is used with."""
