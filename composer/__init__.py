"""composer: learn to compose music with an LSTM written from scratch in NumPy."""

__version__ = "0.1.0"
