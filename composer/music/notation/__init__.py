"""Written music: a Piece laid out as bars of notes with written values, for ABC and MusicXML."""
