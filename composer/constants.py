"""One home for composer's constants and default settings, with their units."""

# --- The grid -------------------------------------------------------------
STEPS_PER_QUARTER = 4  # grid steps per quarter note: 4 = sixteenth notes

# --- Melody encoding ------------------------------------------------------
MELODY_MIN_PITCH = 48  # C3: lowest pitch with its own NOTE_ON token
MELODY_MAX_PITCH = 95  # B6: highest; pitches outside are folded in by octaves

# --- Performance (polyphonic) encoding -------------------------------------
PERFORMANCE_MIN_PITCH = 21  # A0, the lowest piano key
PERFORMANCE_MAX_PITCH = 108  # C8, the highest piano key
MAX_TIME_SHIFT = 16  # longest TIME_SHIFT token, in grid steps (one 4/4 bar)
VELOCITY_BINS = 8  # VELOCITY tokens split 1..127 into this many equal bins

# --- Hostile input bounds ---------------------------------------------------
MAX_FILE_BYTES = 8 * 1024 * 1024  # MIDI files larger than this are refused
MAX_PIECE_BEATS = 4096  # a piece is cut at this many beats (1,024 bars of 4/4)
MAX_NOTES = 200_000  # a file with more notes than this is refused
MAX_MARKS = 4096  # time signatures, key signatures and chord symbols read per file (each)

# --- Model files -------------------------------------------------------------
MODEL_BASELINE_TOKENS = 2_000_000  # untransposed training tokens a model file keeps for the
#                                    n-gram baseline of `evaluate` (uint16: 4 MB at most)

# --- Output ---------------------------------------------------------------
DEFAULT_QPM = 120.0  # tempo of generated MIDI, quarter notes per minute
DEFAULT_VELOCITY = 80  # velocity of generated notes when the encoding has none
DEFAULT_PROGRAM = 0  # General MIDI program of generated notes (0 = piano)
TICKS_PER_BEAT = 480  # resolution of the MIDI files composer writes
CHORD_PROGRAM = 0  # General MIDI program of the chord track composer writes (0 = piano)
CHORD_VELOCITY = 56  # MIDI velocity of its block chords: under a melody at DEFAULT_VELOCITY
CHORD_WEIGHT = 1.0  # guidance towards given chords when sampling (0 = the model as trained):
#                    on data/, 1.0 brings on-beat chord tones from 72% to 86% (README)

# --- Studio (the local web page, composer.studio) ---------------------------
STUDIO_HOST = "127.0.0.1"  # the studio listens on the loopback interface unless told otherwise
STUDIO_PORT = 8765  # TCP port of `composer studio`
STUDIO_MAX_BARS = 64  # most bars one take may add
STUDIO_MAX_TAKE_BEATS = 512  # a take (primer + new music) is at most this many quarter notes
STUDIO_MAX_PRIMER_BEATS = 256  # an uploaded primer longer than this is cut to its opening
STUDIO_MAX_TOKENS = 8192  # most tokens drawn for one take (performance models draw in chunks)
STUDIO_MAX_TAKES = 50  # takes kept by a running studio; the oldest is dropped first
STUDIO_MAX_UPLOAD_BYTES = 1024 * 1024  # largest primer MIDI file accepted (a tune is ~2 KB)
STUDIO_MAX_JSON_BYTES = 64 * 1024  # largest JSON request body accepted
