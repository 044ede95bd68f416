"""Write a piece as MusicXML (partwise, version 4.0) for MuseScore and other notation programs.

From the same layout as the ABC writer (composer.music.notation.score): the time and key
signatures (with the mode), the tempo, notes with their written values, dots, ties,
accidentals and triplets, chord symbols as <harmony> elements, the parts as rehearsal
marks (A, B, ...), repeats as repeat bar lines and endings; a pickup as measure 0. One
<part> per voice of the piece.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from composer.music.chords import ROOT_NAMES, parse_chord
from composer.music.keys import Key
from composer.music.meter import MeterMap
from composer.music.notation.score import GRID, Bar, Score, Written, layout
from composer.music.notes import Piece

TYPES = {96: ("whole", 0), 48: ("half", 0), 24: ("quarter", 0), 12: ("eighth", 0),
         6: ("16th", 0), 3: ("32nd", 0), 144: ("whole", 1), 72: ("half", 1),
         36: ("quarter", 1), 18: ("eighth", 1), 9: ("16th", 1)}  # written value -> type, dots
ACCIDENTALS = {-2: "flat-flat", -1: "flat", 0: "natural", 1: "sharp", 2: "double-sharp"}
KINDS = {"major": "major", "minor": "minor", "diminished": "diminished",
         "augmented": "augmented", "dominant7": "dominant", "major7": "major-seventh",
         "minor7": "minor-seventh", "half-diminished": "half-diminished",
         "sus4": "suspended-fourth", "sus2": "suspended-second"}
HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE score-partwise PUBLIC '
          '"-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
          '"http://www.musicxml.org/dtds/partwise.dtd">\n')


def musicxml_text(piece: Piece, title: str = "", meter: MeterMap | None = None,
                  keys=None, hints=()) -> str:
    """The MusicXML document of `piece` (see the module docstring)."""
    return score_musicxml(layout(piece, title, meter, keys, hints))


def score_musicxml(score: Score) -> str:
    parts = range(score.voices)
    out = [HEADER, '<score-partwise version="4.0">',
           f"<work><work-title>{escape(score.title or 'Untitled')}</work-title></work>",
           "<identification><encoding><software>composer (numpy-lstm-composer)</software>"
           "</encoding></identification>", "<part-list>"]
    names = ["Melody"] if len(parts) == 1 else [f"Voice {v + 1}" for v in parts]
    out += [f'<score-part id="P{v + 1}"><part-name>{names[v]}</part-name></score-part>'
            for v in parts]
    out.append("</part-list>")
    for voice in parts:
        out.append(f'<part id="P{voice + 1}">')
        out += _measures(score, voice)
        out.append("</part>")
    out.append("</score-partwise>")
    return "\n".join(out) + "\n"


def _measures(score: Score, voice: int) -> list[str]:
    out, number = [], 0 if _has_pickup(score) else 1
    endings: dict[int, int] = {}  # bar index -> the ending that stops there
    for k, bar in enumerate(score.bars):
        if bar.ending:
            endings[k + max(bar.ending_bars, 1) - 1] = bar.ending
    for k, bar in enumerate(score.bars):
        implicit = ' implicit="yes"' if number == 0 else ""
        out.append(f'<measure number="{number}"{implicit}>')
        if k and score.bars[k - 1].line_break:
            out.append('<print new-system="yes"/>')
        out += _left(score, bar, k, voice)
        notes = bar.voices[voice] if voice < len(bar.voices) else []
        out += _notes(notes, bar, score)
        out += _right(bar, endings.get(k), k + 1 == len(score.bars))
        out.append("</measure>")
        number += 1
    return out


def _has_pickup(score: Score) -> bool:
    bars = score.bars
    return len(bars) > 1 and bars[0].length < bars[1].length


def _left(score: Score, bar: Bar, k: int, voice: int) -> list[str]:
    out = []
    attributes = []
    if k == 0:
        attributes.append(f"<divisions>{GRID}</divisions>")
    if bar.key is not None or k == 0:
        attributes.append(_key(bar.key or score.key))
    if bar.meter is not None or k == 0:
        meter = bar.meter or score.meter
        attributes.append(f"<time><beats>{meter[0]}</beats><beat-type>{meter[1]}</beat-type>"
                          "</time>")
    if k == 0:
        attributes.append("<clef><sign>G</sign><line>2</line></clef>")
    if attributes:
        out.append("<attributes>" + "".join(attributes) + "</attributes>")
    if k == 0 and voice == 0:
        out.append('<direction placement="above"><direction-type><metronome><beat-unit>quarter'
                   f"</beat-unit><per-minute>{round(score.qpm)}</per-minute></metronome>"
                   f'</direction-type><sound tempo="{round(score.qpm)}"/></direction>')
    if bar.part and voice == 0:
        out.append('<direction placement="above"><direction-type><rehearsal>'
                   f"{bar.part}</rehearsal></direction-type></direction>")
    if bar.start_repeat or bar.ending:
        inner = '<bar-style>heavy-light</bar-style><repeat direction="forward"/>' \
            if bar.start_repeat else ""
        if bar.ending:
            inner += f'<ending number="{bar.ending}" type="start">{bar.ending}.</ending>'
        out.append(f'<barline location="left">{inner}</barline>')
    return out


def _right(bar: Bar, ending: int | None, last: bool) -> list[str]:
    if not (bar.end_repeat or ending or last):
        return []
    inner = "<bar-style>light-heavy</bar-style>" if bar.end_repeat or last else ""
    if ending:
        kind = "stop" if ending == 1 else "discontinue"
        inner += f'<ending number="{ending}" type="{kind}"/>'
    if bar.end_repeat:
        inner += '<repeat direction="backward"/>'
    return [f'<barline location="right">{inner}</barline>']


def _key(key: Key) -> str:
    return f"<key><fifths>{key.sharps}</fifths><mode>{key.mode}</mode></key>"


def beams(notes: list[Written]) -> list[str]:
    """Per note: "begin", "continue", "end" or "" (no beam): notes shorter than a quarter
    are beamed within a beat, and a rest or a longer note breaks the beam."""
    groups, current = [], []
    for k, note in enumerate(notes):
        beamable = note.pitch is not None and note.value < GRID
        if note.beat or not beamable:
            groups.append(current)
            current = []
        if beamable:
            current.append(k)
    groups.append(current)
    found = [""] * len(notes)
    for group in groups:
        if len(group) > 1:
            found[group[0]], found[group[-1]] = "begin", "end"
            for k in group[1:-1]:
                found[k] = "continue"
    return found


def _notes(notes: list[Written], bar: Bar, score: Score) -> list[str]:
    out, left = [], 0  # notes left in the open triplet
    for note, beam in zip(notes, beams(notes), strict=True):
        if note.chord:
            out.append(_harmony(note.chord))
        if note.tuplet:
            left = note.tuplet
        out.append(_note(note, left, beam))
        left = max(0, left - 1) if note.in_tuplet else 0
    if not notes:
        out.append(f"<note><rest/><duration>{bar.length}</duration></note>")
    return out


def _note(note: Written, left: int, beam: str) -> str:
    kind, dots = TYPES.get(note.value, ("eighth", 0))
    parts = ["<note>"]
    if note.pitch is None:
        parts.append("<rest/>")
    else:
        letter, alter, octave = note.spelt
        alter_text = f"<alter>{alter}</alter>" if alter else ""
        parts.append(f"<pitch><step>{letter}</step>{alter_text}<octave>{octave}</octave></pitch>")
    parts.append(f"<duration>{note.length}</duration>")
    ties, notations = [], []
    if note.tie:
        ties.append('<tie type="start"/>')
        notations.append('<tied type="start"/>')
    if note.tied_from:
        ties.insert(0, '<tie type="stop"/>')
        notations.insert(0, '<tied type="stop"/>')
    parts += ties
    parts.append("<voice>1</voice>")
    parts.append(f"<type>{kind}</type>" + "<dot/>" * dots)
    if note.accidental is not None and note.pitch is not None:
        parts.append(f"<accidental>{ACCIDENTALS[note.accidental]}</accidental>")
    if note.in_tuplet:
        parts.append("<time-modification><actual-notes>3</actual-notes>"
                     "<normal-notes>2</normal-notes></time-modification>")
    if beam:
        parts.append(f'<beam number="1">{beam}</beam>')
    if note.in_tuplet:
        if note.tuplet:
            notations.append('<tuplet type="start" bracket="yes"/>')
        elif left == 1:
            notations.append('<tuplet type="stop"/>')
    if notations:
        parts.append("<notations>" + "".join(notations) + "</notations>")
    parts.append("</note>")
    return "".join(parts)


def _harmony(symbol: str) -> str:
    chord = parse_chord(symbol)
    if chord.root is None:
        return '<harmony><root><root-step>C</root-step></root><kind text="N.C.">none</kind>' \
               "</harmony>"
    step, alter = _step(ROOT_NAMES[chord.root])
    text = f"<harmony><root><root-step>{step}</root-step>{alter}</root>" \
        f'<kind text="{escape(symbol[len(ROOT_NAMES[chord.root]):].split("/")[0])}">' \
        f"{KINDS[chord.quality]}</kind>"
    if chord.bass is not None:
        bass_step, bass_alter = _step(ROOT_NAMES[chord.bass])
        text += f"<bass><bass-step>{bass_step}</bass-step>{bass_alter.replace('root', 'bass')}" \
            "</bass>"
    return text + "</harmony>"


def _step(name: str) -> tuple[str, str]:
    alter = {"#": 1, "b": -1}.get(name[1:], 0)
    return name[0], f"<root-alter>{alter}</root-alter>" if alter else ""
