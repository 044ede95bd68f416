"""Training runs: the settings, the loop, checkpoints and the trained-model files."""
