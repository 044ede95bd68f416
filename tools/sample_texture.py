"""Measure samples of a model against its corpus: polyphony, note lengths, grammar breaches.

    python tools/sample_texture.py MODEL CORPUS [--num 20] [--length 540] [--seed 0]
        [--no-grammar] [--max-note-beats B] [--voices N] [--out DIR]

Draws --num samples of --length tokens (all in one batch, seeded), then prints, for the
samples and for the corpus, the figures of `composer stats` that polyphony is judged by
(notes per beat, pitch range, in-key share, notes sounding at once, note lengths, the
share over 8 beats, the longest note, and the Jensen-Shannon distances), and for
performance models how many sampled tokens break each rule of composer.music.grammar
(tokens the grammar would have masked, counted by kind). With --out the samples are
also written there as MIDI (split into --voices tracks when given).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from composer.data.corpus import load_pieces
from composer.generation.sampling import generate
from composer.music import stats as st
from composer.music import texture as tx
from composer.music.grammar import NO_LIMIT, PerformanceGrammar
from composer.music.notes import Piece
from composer.music.performance import PerformanceEncoding
from composer.training.trained import load_model


def breaches(encoding: PerformanceEncoding, sequences, max_voices) -> Counter:
    """Tokens the grammar's rules 1-4 would have masked (the cap aside), by kind and reason."""
    grammar = PerformanceGrammar(encoding, len(sequences), NO_LIMIT, max_voices)
    found: Counter = Counter()
    tokens = np.asarray(sequences)  # (K, T)
    for t in range(1, tokens.shape[1]):
        grammar.advance(tokens[:, t - 1])
        mask = grammar.allowed()
        for k, token in enumerate(tokens[:, t]):
            if not mask[k, token]:
                found[_reason(grammar, k, int(token))] += 1
    return found


def _reason(g: PerformanceGrammar, k: int, token: int) -> str:
    enc = g.enc
    if token < enc.off_base:
        if g.sounding[k, token]:
            return "NOTE_ON of a sounding pitch"
        if g.sounding[k].sum() >= g.max_voices:
            return "NOTE_ON beyond max voices"
        return "NOTE_ON out of pitch order"
    if token < enc.shift_base:
        pitch = token - enc.off_base
        if not g.sounding[k, pitch]:
            return "NOTE_OFF of a silent pitch"
        if g.onset[k, pitch] == g.now[k]:
            return "NOTE_OFF of a note struck this step (zero length)"
        return "NOTE_OFF after a NOTE_ON or out of pitch order"
    if g.after_velocity[k]:
        return "VELOCITY not followed by a NOTE_ON"
    if token < enc.velocity_base:
        return "TIME_SHIFT after a short TIME_SHIFT"
    return "VELOCITY repeating the current one, or with no NOTE_ON possible"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--num", type=int, default=20)
    parser.add_argument("--length", type=int, default=540)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-grammar", action="store_true")
    parser.add_argument("--max-note-beats", type=float, default=None)
    parser.add_argument("--voices", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    trained = load_model(args.model)
    enc, limits = trained.encoding, trained.note_limits
    cap = limits.max_note_steps() if args.max_note_beats is None else round(
        args.max_note_beats * enc.steps_per_quarter)
    tokens = generate(trained, args.length, args.num, rng=np.random.default_rng(args.seed),
                      grammar=not args.no_grammar, max_note_steps=cap)
    pieces = [Piece(f"sample {k + 1}", enc.decode(ids)) for k, ids in enumerate(tokens)]
    corpus = load_pieces(args.corpus)
    _report(pieces, corpus, args, cap, enc.steps_per_quarter)
    if isinstance(enc, PerformanceEncoding):
        found = breaches(enc, tokens, limits.max_voices())
        total = tokens.size - len(tokens)
        over = sum(n.end - n.start > cap / enc.steps_per_quarter for p in pieces for n in p.notes)
        print(f"notes longer than the cap of {cap / enc.steps_per_quarter:g} beats: {over}")
        print(f"tokens breaking the grammar's order ({limits.max_voices()} voices at most): "
              f"{sum(found.values())} of {total}")
        for reason, count in found.most_common():
            print(f"  {reason}: {count} ({count / total:.2%})")
    if args.out is not None:
        _write(pieces, args.out, args.voices)


def _report(pieces, corpus, args, cap, spq) -> None:
    ours, theirs = st.tally(pieces), st.tally(corpus)
    texture, reference = tx.tally_texture(pieces), tx.tally_texture(corpus)
    columns = {f"samples ({'no grammar' if args.no_grammar else f'cap {cap / spq:g} beats'})":
               st.summary(ours) | tx.texture_summary(texture),
               str(args.corpus): st.summary(theirs) | tx.texture_summary(reference)}
    distance = st.distances(ours, theirs) | tx.texture_distances(texture, reference)
    print(st.format_report(columns, distance))
    print()
    print(tx.format_texture_report(columns, distance))


def _write(pieces, out: Path, voices: int | None) -> None:
    from composer.music.midi import write_midi
    from composer.music.voices import assign_voices

    out.mkdir(parents=True, exist_ok=True)
    for k, piece in enumerate(pieces, start=1):
        notes = piece.notes if voices is None else assign_voices(piece.notes, voices)
        write_midi(out / f"sample-{k:03d}.mid", notes, by_voice=voices is not None)


if __name__ == "__main__":
    main()
