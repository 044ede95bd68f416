"""The music side: MIDI files, notes, encodings (notes <-> token ids), keys and statistics.

Nothing here knows what a network is: it never imports composer.nn, composer.data,
composer.training, composer.generation, composer.evaluation, composer.listen or the CLI
(tests/test_architecture.py checks it).
"""
