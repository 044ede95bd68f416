"""The data pipeline: a folder of MIDI and ABC files to cached token sequences and training
windows."""
