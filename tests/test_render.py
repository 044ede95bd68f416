"""Tests for composer.listen.render: FluidSynth renders, their checks, and the error texts.

Real renders are skipped when FluidSynth or the General MIDI soundfont is not
installed. Failures FluidSynth hides behind exit status 0 are reproduced with a
fake `fluidsynth` program put first on PATH.
"""

import os
import shutil
import stat
import sys
import wave

import numpy as np
import pytest

from composer.errors import MidiError
from composer.listen import render
from composer.listen.render import (
    DEFAULT_GAIN,
    FULL_SCALE,
    TARGET_PEAK,
    RenderError,
    free_path,
    render_wav,
    wav_info,
)
from composer.music.midi import write_midi
from composer.music.notes import Note

SOUNDFONT = render.SOUNDFONT_PLACES[0]
needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not os.path.isfile(SOUNDFONT),
    reason="FluidSynth or its soundfont is not installed "
    "(sudo apt-get install fluidsynth fluid-soundfont-gm)",
)

# Three piano notes at 120 qpm: C4 and E4 for a beat each, G4 for two beats.
# The notes end at beat 4 = 2.000 s.
ARPEGGIO = bytes.fromhex(
    "4d546864 00000006 0000 0001 01e0"  # "MThd", 6 bytes: format 0, 1 track, 480 ticks/beat
    "4d54726b 00000031"  # "MTrk", 49 bytes follow
    "00 ff5103 07a120"  # set_tempo 500000 us per beat (120 qpm)
    "00 ff5804 04021808"  # time_signature 4/4
    "00 c0 00"  # program_change: channel 0, program 0 (piano)
    "00 90 3c 50  8360 80 3c 00"  # C4 velocity 80; 480 ticks later note_off
    "00 90 40 50  8360 80 40 00"  # E4 for 480 ticks
    "00 90 43 50  8740 80 43 00"  # G4 for 960 ticks
    "00 ff2f00"  # end_of_track
)
NOTES_END = 2.0  # seconds: 4 beats at 120 qpm
# FluidSynth >= 2.2 renders 2 s after the last voice has stopped, for the reverb
# (FLUID_PLAYER_STOP_GRACE_MS); FluidR3's piano releases in < 0.7 s at velocity 80
# (measured: 2.56..2.61 s of tail for one note). So the file lasts
# NOTES_END .. NOTES_END + 3 s, and the sound itself must fade by NOTES_END + 1 s.
MAX_TAIL = 3.0
MAX_RELEASE = 1.0


@pytest.fixture
def midi(tmp_path):
    path = tmp_path / "arpeggio.mid"
    path.write_bytes(ARPEGGIO)
    return path


def samples(path):
    """(frames, channels) float samples in -1..1 of a 16-bit WAV file."""
    with wave.open(str(path), "rb") as wav:
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return data.reshape(-1, wav.getnchannels()) / 32768, wav.getframerate()


def write_wav(path, frames: np.ndarray, rate: int = 44100):
    """Write int16 (frames, 2) samples as a WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames.astype("<i2").tobytes())


# --- Real renders ------------------------------------------------------------------


@needs_fluidsynth
def test_render_is_audible_and_lasts_as_long_as_the_notes(midi, tmp_path):
    wav = render_wav(midi, tmp_path / "out.wav")
    audio, rate = samples(wav)
    assert rate == 44100 and audio.shape[1] == 2
    seconds = len(audio) / rate
    assert NOTES_END <= seconds <= NOTES_END + MAX_TAIL
    loud = np.flatnonzero(np.abs(audio).max(axis=1) > 10 ** (-60 / 20)) / rate  # above -60 dBFS
    assert loud[0] < 0.01  # the first note sounds at once
    assert NOTES_END - 0.1 < loud[-1] < NOTES_END + MAX_RELEASE  # and the last fades after 2 s
    last_note = audio[int(1.2 * rate) : int(1.9 * rate)]  # G4, well inside its two beats
    assert np.sqrt(np.mean(last_note**2)) > 10 ** (-40 / 20)
    peak = 20 * np.log10(np.abs(audio).max())
    assert -9 < peak < -3  # the default gain: a quiet melody still peaks near -6 dBFS
    assert not list(tmp_path.glob(".*partial*"))  # no temporary file left behind


@needs_fluidsynth
def test_wav_info_measures_what_was_written(midi, tmp_path):
    wav = render_wav(midi, tmp_path / "out.wav", sample_rate=22050)
    audio, rate = samples(wav)
    info = wav_info(wav)
    assert (info.frames, info.sample_rate, info.channels) == (len(audio), 22050, 2)
    assert info.seconds == pytest.approx(len(audio) / 22050)
    assert info.peak == pytest.approx(np.abs(audio).max())
    assert not info.clipped


@needs_fluidsynth
def test_a_render_that_would_clip_is_redone_quieter(tmp_path):
    loud = [Note(b, b + 1, p, 127) for b in range(4) for p in (48, 55, 60, 64, 67, 72)]
    write_midi(tmp_path / "loud.mid", loud)
    warnings = []
    wav = render_wav(tmp_path / "loud.mid", tmp_path / "loud.wav", warn=warnings.append)
    info = wav_info(wav)
    assert not info.clipped
    assert info.peak == pytest.approx(TARGET_PEAK, rel=0.1)  # about -4.5 dBFS
    assert len(warnings) == 1 and f"clips at gain {DEFAULT_GAIN:g}" in warnings[0]


@needs_fluidsynth
def test_a_file_that_is_not_a_soundfont_is_reported(midi, tmp_path):
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"not a soundfont")
    with pytest.raises(RenderError, match=r"arpeggio.mid: FluidSynth failed: .*error"):
        render_wav(midi, tmp_path / "out.wav", soundfont=junk)
    assert not (tmp_path / "out.wav").exists()


# --- Missing programs and files ----------------------------------------------------


def test_missing_fluidsynth_says_how_to_install_it(midi, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without fluidsynth
    with pytest.raises(RenderError) as info:
        render_wav(midi, tmp_path / "out.wav")
    message = str(info.value)
    assert message.startswith("FluidSynth is not installed (no `fluidsynth` on PATH): ")
    assert "`sudo apt-get install fluidsynth fluid-soundfont-gm`" in message
    assert "`brew install fluid-synth`" in message


def test_missing_soundfont_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv(render.SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr(render, "SOUNDFONT_PLACES", (str(tmp_path / "none.sf2"),))
    with pytest.raises(RenderError, match="no General MIDI soundfont found") as info:
        render.find_soundfont()
    assert "sudo apt-get install fluidsynth fluid-soundfont-gm" in str(info.value)


def test_soundfont_from_argument_then_environment(monkeypatch, tmp_path):
    mine, theirs = tmp_path / "mine.sf2", tmp_path / "theirs.sf2"
    mine.write_bytes(b"")
    theirs.write_bytes(b"")
    monkeypatch.setenv(render.SOUNDFONT_ENV, str(theirs))
    assert render.find_soundfont(mine) == mine
    assert render.find_soundfont() == theirs
    monkeypatch.setenv(render.SOUNDFONT_ENV, str(tmp_path / "gone.sf2"))
    with pytest.raises(RenderError) as info:
        render.find_soundfont()
    gone = tmp_path / "gone.sf2"
    assert str(info.value) == f"soundfont {gone} (from COMPOSER_SOUNDFONT) does not exist"


def test_missing_midi_file(tmp_path):
    with pytest.raises(RenderError) as info:
        render_wav(tmp_path / "gone.mid", tmp_path / "out.wav")
    assert str(info.value) == f"{tmp_path / 'gone.mid'}: no such file"


def test_output_folder_must_exist(midi, tmp_path):
    with pytest.raises(RenderError) as info:
        render_wav(midi, tmp_path / "nowhere" / "out.wav")
    assert str(info.value) == f"{tmp_path / 'nowhere'}: no such folder"


def test_existing_output_is_not_overwritten(midi, tmp_path):
    (tmp_path / "out.wav").write_bytes(b"keep me")
    with pytest.raises(RenderError, match="already exists; not overwriting it"):
        render_wav(midi, tmp_path / "out.wav")
    assert (tmp_path / "out.wav").read_bytes() == b"keep me"


@pytest.mark.parametrize(
    ("settings", "error", "text"),
    [
        ({"gain": 0}, ValueError, r"gain must be in \(0, 10\], got 0"),
        ({"gain": 11.0}, ValueError, r"gain must be in \(0, 10\], got 11.0"),
        ({"sample_rate": 4000}, ValueError, "sample_rate must be in 8000..96000 Hz, got 4000"),
        ({"sample_rate": 44100.0}, TypeError, "sample_rate must be an int, got float"),
    ],
)
def test_bad_settings(midi, tmp_path, settings, error, text):
    with pytest.raises(error, match=text):
        render_wav(midi, tmp_path / "out.wav", **settings)


def test_free_path_counts_up(tmp_path):
    assert free_path(tmp_path / "a.wav") == tmp_path / "a.wav"
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "a-1.wav").write_bytes(b"")
    assert free_path(tmp_path / "a.wav") == tmp_path / "a-2.wav"


# --- FluidSynth's quiet failures, with a fake fluidsynth --------------------------

FAKE_FLUIDSYNTH = """#!{python}
import os, sys, time, wave
args = sys.argv[1:]
mode = os.environ["FAKE_MODE"]
out = args[args.index("-F") + 1]
if mode == "error":  # what FluidSynth does with a broken soundfont: complain, exit 0
    print("fluidsynth: error: Not a SoundFont file", file=sys.stderr)
if mode == "sleep":
    time.sleep(30)
frames = {{"silent": 88200, "short": 441, "error": 88200, "loud": 88200}}[mode]
level = {{"silent": 0, "short": 8000, "error": 0, "loud": 8000}}[mode]
with wave.open(out, "wb") as wav:
    wav.setnchannels(2)
    wav.setsampwidth(2)
    wav.setframerate(44100)
    wav.writeframes(level.to_bytes(2, "little") * 2 * frames)
"""


@pytest.fixture
def fake(tmp_path, monkeypatch, midi):
    """Put a fake `fluidsynth` first on PATH; return a function that renders with it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    program = folder / "fluidsynth"
    program.write_text(FAKE_FLUIDSYNTH.format(python=sys.executable))
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(folder))
    soundfont = tmp_path / "any.sf2"
    soundfont.write_bytes(b"")

    def run(mode, **options):
        monkeypatch.setenv("FAKE_MODE", mode)
        return render_wav(midi, tmp_path / "out.wav", soundfont=soundfont, **options)

    return run


def test_fake_fluidsynth_that_works(fake, tmp_path):
    assert fake("loud") == tmp_path / "out.wav"
    assert wav_info(tmp_path / "out.wav").peak == pytest.approx(8000 / 32768)


def test_error_lines_fail_the_render_despite_exit_status_0(fake, tmp_path):
    with pytest.raises(RenderError) as info:
        fake("error")
    assert str(info.value) == (
        f"{tmp_path / 'arpeggio.mid'}: FluidSynth failed: fluidsynth: error: Not a SoundFont file"
    )
    assert not (tmp_path / "out.wav").exists()


def test_silent_audio_fails_the_render(fake):
    with pytest.raises(RenderError, match="FluidSynth rendered silence; is .*any.sf2 a General"):
        fake("silent")


def test_audio_far_shorter_than_the_notes_fails_the_render(fake):
    with pytest.raises(RenderError, match=r"wrote 0.01 s of audio for 2.00 s of notes"):
        fake("short")


def test_a_render_that_takes_too_long_is_stopped(fake):
    with pytest.raises(RenderError, match=r"FluidSynth took more than 0.5 s; gave up"):
        fake("sleep", timeout=0.5)


# --- Reading WAV files and MIDI errors -----------------------------------------------


def test_wav_info_reports_clipping(tmp_path):
    frames = np.zeros((100, 2), dtype=np.int16)
    frames[50, 1] = -32768
    write_wav(tmp_path / "x.wav", frames)
    info = wav_info(tmp_path / "x.wav")
    assert info.clipped and info.peak == 1.0 and info.peak_dbfs == 0.0
    frames[50, 1] = FULL_SCALE - 1
    write_wav(tmp_path / "x.wav", frames)
    assert not wav_info(tmp_path / "x.wav").clipped


def test_wav_info_refuses_truncated_and_foreign_files(tmp_path):
    write_wav(tmp_path / "x.wav", np.ones((1000, 2), dtype=np.int16))
    data = (tmp_path / "x.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:-400])
    with pytest.raises(RenderError, match=r"cut.wav: truncated WAV \(900 of 1000 frames\)"):
        wav_info(tmp_path / "cut.wav")
    (tmp_path / "text.wav").write_text("hello")
    with pytest.raises(RenderError, match="text.wav: not a readable WAV file"):
        wav_info(tmp_path / "text.wav")


def test_broken_midi_is_a_midi_error(fake, tmp_path):
    (tmp_path / "arpeggio.mid").write_bytes(b"RIFF....")
    with pytest.raises(MidiError, match="not a MIDI file"):
        fake("loud")
