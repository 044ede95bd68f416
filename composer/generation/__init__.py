"""Drawing new music from a trained model."""
