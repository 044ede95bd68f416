"""Listening and looking: MIDI to audio with FluidSynth, piano rolls and loss curves."""
