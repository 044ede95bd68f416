"""The data pipeline: a folder of MIDI files to cached token sequences and training windows."""
