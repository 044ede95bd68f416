"""Render a MIDI file to a WAV file through FluidSynth and a General MIDI soundfont.

FluidSynth is an external program (`fluidsynth`), run as
`fluidsynth -ni -g GAIN -F out.wav -r RATE SOUNDFONT file.mid`. It exits 0 even
when it fails (a bad soundfont gives `fluidsynth: error: ...` on stderr and a
silent file), so every render is checked: stderr, then the WAV's length and
level, read back with the stdlib `wave` module. A render that clips is done
again at a lower gain.

With FluidSynth >= 2.2 the WAV lasts as long as the notes, plus each voice's
release, plus a fixed 2 s so the reverb can fade (FLUID_PLAYER_STOP_GRACE_MS).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer.errors import ComposerError

# FluidSynth scales its output linearly with the gain (synth.gain, 0..10; its
# default 0.2 is quiet). Peaks measured with FluidSynth 2.3.1 and FluidR3_GM on
# "Ode to Joy" (30 notes, piano, 120 qpm), in dBFS:
#   velocity 80 (composer's default):  gain 0.2 -29.3 | 1.0 -15.4 | 2.0 -9.3 |
#                                      2.5 -7.4 | 3.0 -5.8 | 3.5 -4.5 | 4.0 -3.3
#   velocity 100:                      gain 2.5 -3.3 | 3.0 -1.8 | 3.5 -0.4 | 4.0 clips
#   velocity 127, or 4-note chords at velocity 80: clips from gain 2.5 up
# 3.0 puts a generated melody at about -6 dBFS; louder files are rendered again
# at a gain that puts their peak at TARGET_PEAK instead of clipping.
DEFAULT_GAIN = 3.0
MAX_GAIN = 10.0  # FluidSynth refuses a larger synth.gain
TARGET_PEAK = 10 ** (-4.5 / 20)  # peak aimed at when lowering the gain (-4.5 dBFS)
DEFAULT_SAMPLE_RATE = 44100  # Hz
SAMPLE_RATES = (8000, 96000)  # FluidSynth's accepted synth.sample-rate range, Hz
SILENCE_PEAK = 10 ** (-60 / 20)  # a WAV peaking below -60 dBFS counts as silent
FULL_SCALE = 32767  # a 16-bit sample this large (either sign) has clipped
# The notes last piece.duration * 60 / qpm seconds at the file's first tempo; tempo changes
# make the real length differ, so only a WAV shorter than this share of it is refused.
MIN_LENGTH_SHARE = 0.25
RENDER_TIMEOUT = 600  # seconds one FluidSynth run may take (it renders ~50x real time)
WAV_CHUNK_FRAMES = 1 << 18  # frames read at once when measuring a WAV

SOUNDFONT_ENV = "COMPOSER_SOUNDFONT"
SOUNDFONT_PLACES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian, Ubuntu: fluid-soundfont-gm
    "/usr/share/soundfonts/FluidR3_GM.sf2",  # Fedora, Arch
    "/usr/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",  # macOS, Homebrew (Apple silicon)
    "/usr/local/share/soundfonts/default.sf2",  # macOS, Homebrew (Intel)
)
INSTALL_HINT = (
    "install them with `sudo apt-get install fluidsynth fluid-soundfont-gm` "
    "(Debian/Ubuntu), or on macOS `brew install fluid-synth` and download a General "
    "MIDI soundfont such as FluidR3_GM.sf2, then pass it with --soundfont or the "
    f"{SOUNDFONT_ENV} environment variable"
)


class RenderError(ComposerError):
    """FluidSynth or the soundfont is missing, or a render failed its checks."""


@dataclass(frozen=True)
class WavInfo:
    frames: int  # sample frames (one sample per channel each)
    sample_rate: int  # Hz
    channels: int
    peak: float  # largest absolute sample, 0..1 of full scale
    clipped: bool  # some sample reached full scale

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def peak_dbfs(self) -> float:
        return 20 * float(np.log10(self.peak)) if self.peak > 0 else float("-inf")


def find_fluidsynth() -> str:
    """The path of the `fluidsynth` program; RenderError saying how to install it."""
    program = shutil.which("fluidsynth")
    if program is None:
        raise RenderError(f"FluidSynth is not installed (no `fluidsynth` on PATH): {INSTALL_HINT}")
    return program


def find_soundfont(soundfont: str | os.PathLike | None = None) -> Path:
    """The soundfont to use: the one given, else $COMPOSER_SOUNDFONT, else a system one."""
    for given, origin in (
        (soundfont, "--soundfont"),
        (os.environ.get(SOUNDFONT_ENV), SOUNDFONT_ENV),
    ):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise RenderError(f"soundfont {path} (from {origin}) does not exist")
            return path
    for place in SOUNDFONT_PLACES:
        if Path(place).is_file():
            return Path(place)
    raise RenderError(
        f"no General MIDI soundfont found (looked in {SOUNDFONT_PLACES[0]}): {INSTALL_HINT}"
    )


def free_path(path: str | os.PathLike) -> Path:
    """`path` if nothing is there yet, else the first free `stem-1.ext`, `stem-2.ext`, ..."""
    path = Path(path)
    candidate, k = path, 0
    while candidate.exists():
        k += 1
        candidate = path.with_name(f"{path.stem}-{k}{path.suffix}")
    return candidate


def wav_info(path: str | os.PathLike) -> WavInfo:
    """Length and level of a 16-bit PCM WAV file, read in chunks."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise RenderError(
                    f"{path}: expected 16-bit samples, got {8 * wav.getsampwidth()}-bit"
                )
            channels, declared = wav.getnchannels(), wav.getnframes()
            read = peak = 0
            while chunk := wav.readframes(WAV_CHUNK_FRAMES):
                samples = np.abs(np.frombuffer(chunk, dtype="<i2").astype(np.int32))
                peak = max(peak, int(samples.max(initial=0)))
                read += samples.size // channels
            rate = wav.getframerate()
    except (wave.Error, EOFError, OSError) as error:
        raise RenderError(f"{path}: not a readable WAV file ({error})") from error
    if read != declared:
        raise RenderError(f"{path}: truncated WAV ({read} of {declared} frames)")
    return WavInfo(read, rate, channels, peak / 32768, peak >= FULL_SCALE)


def _check_settings(gain: float, sample_rate: int) -> None:
    if not 0 < gain <= MAX_GAIN:
        raise ValueError(f"gain must be in (0, {MAX_GAIN:g}], got {gain!r}")
    low, high = SAMPLE_RATES
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        raise TypeError(f"sample_rate must be an int, got {type(sample_rate).__name__}")
    if not low <= sample_rate <= high:
        raise ValueError(f"sample_rate must be in {low}..{high} Hz, got {sample_rate}")


def _notes_seconds(midi_path: Path) -> float:
    """How long the notes last at the file's first tempo; MidiError if it has no notes."""
    from composer.music.midi import read_midi

    return max(piece.duration * 60 / piece.qpm for piece in read_midi(midi_path))


def _run_fluidsynth(command: list[str], midi_path: Path, timeout: float) -> None:
    """Run one FluidSynth render; RenderError on a crash, a timeout or an `error` line."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise RenderError(
            f"{midi_path}: FluidSynth took more than {timeout:g} s; gave up"
        ) from error
    except OSError as error:
        raise RenderError(f"cannot run FluidSynth: {error}") from error
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    if done.returncode != 0 or errors:
        problem = errors[0] if errors else f"exit status {done.returncode}"
        raise RenderError(f"{midi_path}: FluidSynth failed: {problem.strip()}")


def _render_once(
    midi_path: Path, out: Path, soundfont: Path, gain: float, rate: int, timeout: float
) -> WavInfo:
    """One FluidSynth run into `out`; its WavInfo."""
    command = [find_fluidsynth(), "-ni", "-g", f"{gain:.4f}", "-T", "wav", "-O", "s16",
               "-F", str(out), "-r", str(rate),
               os.path.abspath(soundfont), os.path.abspath(midi_path)]  # fmt: skip
    # absolute paths: a file name starting with "-" must not read as an option
    _run_fluidsynth(command, midi_path, timeout)
    if not out.is_file():
        raise RenderError(f"{midi_path}: FluidSynth wrote no audio file")
    info = wav_info(out)
    if info.frames == 0:
        raise RenderError(f"{midi_path}: FluidSynth wrote an empty audio file")
    return info


def _lower_gain(render, gain: float) -> float:
    """A gain at which the render peaks at TARGET_PEAK instead of clipping at `gain`.

    FluidSynth's output is linear in the gain, so one render 18 dB lower that
    does not clip tells the gain that reaches TARGET_PEAK exactly.
    """
    for _ in range(3):
        gain /= 8
        info = render(gain)
        if not info.clipped and info.peak > 0:
            return gain * TARGET_PEAK / info.peak
    raise RenderError(f"the render still clips at gain {gain:g}")


def _check_audio(info: WavInfo, midi_path: Path, font: Path, notes_seconds: float) -> None:
    """RenderError if the audio is silent or far shorter than the notes."""
    if info.peak < SILENCE_PEAK:
        raise RenderError(
            f"{midi_path}: FluidSynth rendered silence; is {font} a General MIDI soundfont?"
        )
    if info.seconds < MIN_LENGTH_SHARE * notes_seconds:
        raise RenderError(
            f"{midi_path}: FluidSynth wrote {info.seconds:.2f} s of audio "
            f"for {notes_seconds:.2f} s of notes"
        )


def render_wav(
    midi_path: str | os.PathLike,
    wav_path: str | os.PathLike,
    *,
    gain: float = DEFAULT_GAIN,
    soundfont: str | os.PathLike | None = None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    overwrite: bool = False,
    timeout: float = RENDER_TIMEOUT,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Render `midi_path` to a 16-bit stereo WAV at `wav_path`; return `wav_path`.

    Raises RenderError if FluidSynth or the soundfont is missing (the message
    says how to install them), if `wav_path` exists and not `overwrite`, or if
    the render fails its checks; MidiError if the MIDI file cannot be read. A
    render that clips is redone at a lower gain, reported through `warn`.
    """
    _check_settings(gain, sample_rate)
    midi_path, wav_path = Path(midi_path), Path(wav_path)
    if not midi_path.is_file():
        raise RenderError(f"{midi_path}: no such file")
    if wav_path.exists() and not overwrite:
        raise RenderError(f"{wav_path} already exists; not overwriting it")
    if not wav_path.parent.is_dir():
        raise RenderError(f"{wav_path.parent}: no such folder")
    find_fluidsynth()
    font = find_soundfont(soundfont)
    seconds = _notes_seconds(midi_path)
    temp = wav_path.with_name(f".{wav_path.stem}.{os.getpid()}.partial.wav")

    def render(g: float) -> WavInfo:
        return _render_once(midi_path, temp, font, g, sample_rate, timeout)

    try:
        info = render(gain)
        if info.clipped:
            lowered = _lower_gain(render, gain)
            if warn is not None:
                warn(f"{midi_path}: clips at gain {gain:g}; rendered at gain {lowered:.2f}")
            info = render(lowered)
        _check_audio(info, midi_path, font, seconds)
        os.replace(temp, wav_path)
    finally:
        temp.unlink(missing_ok=True)
    return wav_path
