"""Scoring models: NLL, accuracy and event accuracy, next to an n-gram baseline."""
