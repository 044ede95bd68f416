"""Conditioning end to end: contexts in the token store, the training features hook, the
settings, scoring, sampling with a steered model, and the sample command's options."""

import json

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from composer.cli import main
from composer.data.contexts import ConditionFeatures
from composer.data.dataset import load_dataset
from composer.data.windows import Batch
from composer.evaluation.evaluate import evaluate, piece_features
from composer.generation.sampling import generate
from composer.generation.steering import Steering, advance_table, note_on_pitches, sample_context
from composer.music.conditioning import (
    NO_QUALITY,
    NO_ROOT,
    fields,
    sequence_features,
    user_context,
)
from composer.music.encoding import make_encoding
from composer.music.feature_edits import hide_chords, transpose_features
from composer.music.keys import parse_key
from composer.music.midi import read_midi, write_midi
from composer.music.notes import ChordSymbol, KeySignature, Note, Piece, TimeSignature
from composer.training.config import TrainConfig
from composer.training.trained import load_model

PARTS = ("metre", "key", "chords", "history")  # what the tiny melody model hears


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def melody_data(tiny_corpus):
    return load_dataset(tiny_corpus, make_encoding("melody"), transpose=2, seed=0)


@pytest.fixture(scope="module")
def steered(studio_models):
    """A tiny melody model that hears metre, key and chords (tests/conftest.py)."""
    return load_model(studio_models / "melody")


# --- contexts in the store, and the training hook ----------------------------------------


def test_the_store_keeps_each_pieces_context_and_first_step(melody_data):
    from composer.data.contexts import context_of

    meta = melody_data.store.metadata(0)
    assert meta["first_step"] == 0  # the tunes start on beat 0
    assert 0 <= meta["phase"] < 4 and meta["keys"][0][0] == 0.0  # the estimated pickup
    assert "chords" not in meta  # no chord symbols: inferred from the tokens when used
    context, first_step = context_of(meta, 4)
    assert context.meter.first == (4, 4) and context.chord_source == "none"
    assert context.keys[0][1].name == meta["keys"][0][1]


def test_bar_lines_that_shift_are_kept_in_the_store(tmp_path):
    """A tune whose bar lines shift mid-tune (tests/test_meter.py) keeps them in its
    metadata, and its context from the store is the one read from the file."""
    from test_meter import shifting_reel

    from composer.data.contexts import context_of
    from composer.music.conditioning import piece_context

    for k in range(4):  # enough tunes for a split
        write_midi(tmp_path / f"t{k}.mid", shifting_reel(),
                   time_signatures=[TimeSignature(0.0, 4, 4)])
    data = load_dataset(tmp_path, make_encoding("melody"), seed=0)
    meta = data.store.metadata(0)
    assert meta["bar_lines"] == [[0.0, 4, 4], [35.0, 4, 4]] and meta["phase"] == 1.0
    context, _ = context_of(meta, 4)
    piece = read_midi(tmp_path / "t0.mid")[0]
    assert context.meter == piece_context(piece, 4, infer=False).meter


def test_training_and_evaluation_compute_the_same_features(melody_data, tiny_corpus):
    """The hook reads contexts from the cache; evaluate from the files: they must agree."""
    from composer.data.corpus import load_pieces

    hook = ConditionFeatures(melody_data.store, make_encoding("melody"), PARTS)
    trained = type("T", (), {"encoding": make_encoding("melody"),
                             "config": TrainConfig(condition=PARTS)})()
    pieces = {p.name: p for p in load_pieces(tiny_corpus)}
    for row in melody_data.valid_rows.tolist()[:3]:
        name = melody_data.store.piece_names([row])[0]
        ids = melody_data.store.piece(row)
        from_files, source = piece_features(trained, pieces[name], ids)
        assert source == "inferred"
        np.testing.assert_array_equal(hook.piece_features(row), from_files)


def test_a_pieces_chords_are_inferred_once_and_kept(melody_data, monkeypatch):
    """Features cut again after leaving the features cache use the chords kept, packed,
    and are the same as the first time."""
    import composer.data.contexts as contexts

    hook = ConditionFeatures(melody_data.store, make_encoding("melody"), PARTS)
    rows = melody_data.train_rows.tolist()[:5]
    first = [hook.piece_features(row) for row in rows]
    calls = []
    monkeypatch.setattr(contexts, "token_context", lambda *a: calls.append(a))
    hook._cache.clear()  # as if the pieces had left the features cache
    for row, features in zip(rows, first, strict=True):
        np.testing.assert_array_equal(hook.for_epoch(3).piece_features(row), features)
    assert calls == []  # no chord inferred again


def _batch(rows, shifts, positions, T):
    N = len(rows)
    return Batch(np.zeros((N, T + 1), np.int32), np.ones((N, T), np.float32),
                 np.zeros(N, bool), np.array(rows), np.array(shifts), np.array(positions))


def test_the_hook_cuts_each_lanes_window_moved_by_its_shift(melody_data):
    hook = ConditionFeatures(melody_data.store, make_encoding("melody"), PARTS)
    row, T = int(melody_data.train_rows[0]), 16
    whole = hook.piece_features(row)
    tail = len(whole) - 5  # a window running 11 steps past the piece's end
    cond = hook(_batch([row, row, row, -1], [0, 3, 0, 0], [0, 0, tail, 0], T))["cond"]
    assert cond.shape == (4, T, len(fields(PARTS))) and cond.dtype == np.uint8
    np.testing.assert_array_equal(cond[0], whole[:T])
    np.testing.assert_array_equal(cond[1], transpose_features(whole[:T], PARTS, 3,
                                                              make_encoding("melody")))
    np.testing.assert_array_equal(cond[2, :5], whole[tail:])
    assert (cond[2, 5:] == whole[-1]).all()  # padding repeats the last real step
    assert not cond[3].any()  # an idle lane


def test_chord_dropout_hides_whole_sequences_the_same_way_each_time(melody_data):
    store = melody_data.store
    hook = ConditionFeatures(store, make_encoding("melody"), PARTS, chord_dropout=0.5, seed=3)
    rows = melody_data.train_rows.tolist()
    batch = _batch(rows, [0] * len(rows), [0] * len(rows), 8)
    names = [f.name for f in fields(PARTS)]
    root = names.index("chord_root")
    first = hook.for_epoch(0)(batch)["cond"]
    hidden = (first[:, :, root] == NO_ROOT).all(axis=1)
    assert 0.2 < hidden.mean() < 0.8  # about half of 32 pieces
    assert (first[hidden][..., names.index("chord_quality")] == NO_QUALITY).all()
    np.testing.assert_array_equal(hook.for_epoch(0)(batch)["cond"], first)  # resumable
    assert not np.array_equal(hook.for_epoch(1)(batch)["cond"], first)  # redrawn per epoch
    plain = ConditionFeatures(store, make_encoding("melody"), PARTS)(batch)["cond"]
    np.testing.assert_array_equal(first[~hidden], plain[~hidden])
    np.testing.assert_array_equal(hide_chords(plain, PARTS)[hidden], first[hidden])


# --- settings and model files --------------------------------------------------------------


def test_old_models_hear_nothing_and_new_runs_hear_the_default():
    old = {k: v for k, v in TrainConfig().to_dict().items() if k != "condition"}
    assert TrainConfig.from_dict(old).condition == ()
    assert TrainConfig.from_dict(old).cond_sizes() is None
    assert TrainConfig().condition == ("metre", "key", "chords", "history")
    sizes = TrainConfig(condition=("chords", "key")).cond_sizes()
    assert list(sizes) == ["key_tonic", "key_mode", "chord_root", "chord_quality",
                           *(f"chord_tone_{pc}" for pc in range(12))]
    saved = json.loads(json.dumps(TrainConfig(condition=PARTS).to_dict()))
    assert TrainConfig.from_dict(saved).condition == PARTS


def test_an_unknown_part_is_refused_by_train(tiny_corpus):
    result = invoke("train", tiny_corpus, "--condition", "metre,tempo")
    assert result.exit_code == 2
    assert "unknown conditioning part 'tempo'; choose from metre, key, chords" in result.output


def test_a_conditioned_model_saves_its_table_and_info_shows_it(steered, studio_models):
    assert steered.params["Wc0"].shape == (sum(steered.config.cond_sizes().values()), 64)
    shown = invoke("info", studio_models / "melody").output
    assert "condition         metre, key, chords, history" in shown


def test_evaluate_reports_chords_apart_and_labelled(studio_models, tiny_corpus, steered):
    result = evaluate(steered, tiny_corpus)
    assert result.condition == PARTS and result.with_chords is not None
    assert result.chord_sources == {"inferred": result.pieces}
    assert result.model.nll != result.with_chords.nll
    text = invoke("evaluate", studio_models / "melody", tiny_corpus).output
    assert "composer LSTM (metre, key from the files; history; chords hidden)" in text
    assert "NOT comparable" in text and "composer LSTM (chords)" in text


# --- sampling ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["melody", "performance"])
def test_sampling_feeds_the_features_training_feeds(name):
    """Steering's step clock gives, token by token, what sequence_features gives a piece."""
    encoding = make_encoding(name)
    piece = Piece("p", [Note(0.5, 1.0, 62), Note(1.0, 2.5, 64), Note(1.0, 1.5, 67),
                        Note(3.0, 3.25, 69)], time_signature=(3, 4))
    ids = encoding.encode(piece)
    context, first_step = sample_context(encoding, chords="D G", primer=piece)
    assert first_step == 2  # the first note starts at beat 0.5, sixteenth step 2
    parts = PARTS if name == "melody" else ("metre", "key", "chords")  # history: melody only
    expected = sequence_features(context, encoding, ids, first_step, parts)  # (L, F)
    steering = Steering(encoding, context, parts, first_step=first_step)
    opening = steering.opening(ids[None, :-3])  # all but the last 3 tokens
    np.testing.assert_array_equal(opening[:, 0], expected[: len(ids) - 4])
    for t in range(len(ids) - 4, len(ids) - 1):
        np.testing.assert_array_equal(steering.current()[0], expected[t])
        steering.step(ids[None, t + 1])


def test_the_clock_and_the_pitches_of_each_token():
    melody, performance = make_encoding("melody"), make_encoding("performance")
    assert (advance_table(melody) == 1).all()
    shift = performance.token_id("TIME_SHIFT(3)")
    assert advance_table(performance)[shift] == 3
    assert advance_table(performance)[performance.token_id("NOTE_ON(60)")] == 0
    pitches = note_on_pitches(melody)
    assert pitches[melody.token_id("NOTE_ON(60)")] == 60 and pitches[0] == pitches[1] == -1


def test_scale_lock_keeps_every_note_in_the_key(steered):
    context = user_context(key="Eb dorian", steps_per_quarter=4)
    tokens = generate(steered, 300, 4, rng=np.random.default_rng(0), context=context,
                      scale_lock=True)
    notes = [n for ids in tokens[:, 1:] for n in steered.encoding.decode(ids)]
    assert notes and {n.pitch % 12 for n in notes} <= parse_key("Eb dorian").pitch_classes
    free = generate(steered, 300, 4, rng=np.random.default_rng(0), context=context)
    free_notes = [n for ids in free for n in steered.encoding.decode(ids)]
    assert {n.pitch % 12 for n in free_notes} - parse_key("Eb dorian").pitch_classes


def test_a_steered_sample_is_reproducible_and_follows_its_context(steered):
    def draw(chords):
        context = user_context(meter="6/8", key="D major", chords=chords)
        return generate(steered, 96, 2, rng=np.random.default_rng(7), context=context)

    np.testing.assert_array_equal(draw("D G"), draw("D G"))
    assert not np.array_equal(draw("D G"), draw("Bm Em"))  # the model hears the chords


# --- the sample command --------------------------------------------------------------------


def test_sample_writes_the_metre_key_and_chords_asked_for(studio_models, tmp_path):
    out = tmp_path / "jig.mid"
    result = invoke("sample", "--model", studio_models / "melody", "--meter", "6/8", "--key",
                    "D major", "--chords", "D G:0.5 A:0.5", "--bars", "4", "--seed", "1",
                    "--out", out)
    assert result.exit_code == 0, result.output
    piece = read_midi(out)[0]
    assert piece.time_signature == (6, 8)
    assert [k.sharps for k in piece.key_signatures] == [2]
    assert [(c.beat, c.symbol) for c in piece.chords] == [(0.0, "D"), (3.0, "G"), (4.5, "A"),
                                                         (6.0, "D"), (9.0, "G"), (10.5, "A")]
    assert piece.notes and max(n.end for n in piece.notes) <= 12.0  # 4 bars of 6/8
    names = [t.name for t in mido.MidiFile(out).tracks]
    assert "Chords" in names  # a track the user can mute


def test_a_primers_metre_and_key_carry_on(studio_models, tmp_path):
    primer = tmp_path / "primer.mid"
    notes = [Note(1.0 + k, 2.0 + k, p) for k, p in enumerate([67, 71, 74])]  # a pickup bar
    write_midi(primer, notes, time_signatures=[TimeSignature(0.0, 3, 4)],
               key_signatures=[KeySignature(0.0, 1, False)], chords=[ChordSymbol(0.0, "G")])
    out = tmp_path / "more.mid"
    result = invoke("sample", "--model", studio_models / "melody", "--primer", primer,
                    "--bars", "2", "--seed", "2", "--out", out)
    assert result.exit_code == 0, result.output
    piece = read_midi(out)[0]
    assert piece.time_signature == (3, 4) and [k.sharps for k in piece.key_signatures] == [1]
    opening = [(n.start, n.pitch) for n in piece.notes[:3]]
    assert opening == [(n.start, n.pitch) for n in notes]  # in the primer's own bars
    # the primer ends at beat 4; the next bar line is at 4 or 6 (the phase is estimated),
    # and 2 bars of 3/4 follow it
    assert 9.0 < max(n.end for n in piece.notes) <= 12.0


def test_each_sample_draws_its_own_metre_and_key(tmp_path):
    """Without --meter and --key, every sample of --num gets its own draw (the shipped
    model's training tunes: several metres and keys), said on stderr and written."""
    from composer.training.trained import default_model_path

    result = invoke("sample", "--model", default_model_path(), "--num", "4", "--bars", "1",
                    "--seed", "0", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("metre and key: "))
    pairs = line.removeprefix("metre and key: ").split(" (")[0].split("; ")
    assert len(pairs) == 4 and len(set(pairs)) > 1
    for k, pair in enumerate(pairs, start=1):
        meter, key = pair.split(", ")
        piece = read_midi(tmp_path / f"sample-{k:03d}.mid")[0]
        assert "/".join(map(str, piece.time_signature)) == meter
        sharps = parse_key(key).sharps
        assert [s.sharps for s in piece.key_signatures] == [sharps]


@pytest.mark.parametrize(("args", "message"), [
    (["--meter", "7/0"], "Invalid value for '--meter': bad metre '7/0'"),
    (["--chords", "H7"], "Invalid value for '--chords': bad chord symbol 'H7'"),
    (["--key", "Q major"], "Invalid value for '--key': bad key 'Q major'"),
    (["--bars", "2", "--length", "10"], "give --length or --bars, not both"),
])
def test_bad_steering_options_are_usage_errors(args, message):
    result = invoke("sample", *args)
    assert result.exit_code == 2 and message in result.output


def test_a_setting_the_model_does_not_hear_is_noted(studio_models, tmp_path):
    result = CliRunner().invoke(main, ["sample", "--model", str(studio_models / "performance"),
                                       "--key", "D major", "--length", "20", "--out",
                                       str(tmp_path / "p.mid")])
    assert result.exit_code == 0
    assert "not trained with key conditioning; --key is only written into the file" in \
        result.output


# --- guidance towards the chords -----------------------------------------------------------


def test_chord_guidance_pushes_the_logits_away_from_the_chordless_ones(steered):
    """Greedy, one token after a primer: the choice is argmax of l + w (l - l_hidden)."""
    from composer.generation.steering import Steering
    from composer.nn import model

    context = user_context(chords="Am F C G", key="C major")
    primer = np.array([steered.encoding.token_id("NOTE_ON(69)")])
    steering = Steering(steered.encoding, context, PARTS)
    steering.opening(primer[None, :])
    heard = steering.current()  # (1, F)
    sizes, state = steered.config.cond_sizes(), model.zero_state(steered.params, 1)
    with_chords, _ = model.step(steered.params, primer, state, heard, sizes)
    without, _ = model.step(steered.params, primer, state, hide_chords(heard, PARTS), sizes)
    for weight in (0.0, 3.0):
        expected = np.argmax(with_chords + weight * (with_chords - without), axis=1)
        drawn = generate(steered, 1, 1, temperature=0, primer=primer, grammar=False,
                         context=context, chord_weight=weight, shape=False)
        assert drawn[0, -1] == expected[0]


def test_chord_guidance_needs_a_model_that_hears_chords(studio_models, tmp_path):
    from composer.errors import ComposerError

    plain = load_model(studio_models / "performance")
    with pytest.raises(ComposerError, match="a chord weight needs a model that hears chords"):
        generate(plain, 4, 1, chord_weight=1.0)
    result = invoke("sample", "--model", studio_models / "melody", "--chord-weight", "2",
                    "--out", tmp_path / "x.mid")
    assert result.exit_code == 2
    assert "--chord-weight needs --chords and a model that hears chords" in result.output


def test_a_metre_or_key_not_given_is_drawn_as_the_training_tunes_had_them(steered):
    assert steered.data["meter_keys"] and sum(steered.data["meter_keys"].values()) == len(
        steered.data["train_names"])
    choices = {"6/8 G major": 3, "2/2 D major": 1, "6/8 E minor": 1}
    melody = make_encoding("melody")
    drawn = {tuple(sample_context(melody, choices=choices, rng=np.random.default_rng(seed))[0]
                   .meter.first) for seed in range(40)}
    assert drawn == {(6, 8), (2, 2)}
    for seed in range(10):
        context, _ = sample_context(melody, meter="6/8", choices=choices,
                                    rng=np.random.default_rng(seed))
        assert context.keys[0][1].name in ("G major", "E minor")
    context, _ = sample_context(melody, meter="3/4", choices=choices)  # none in 3/4
    assert context.meter.first == (3, 4) and context.keys[0][1].name == "C major"
    context, _ = sample_context(melody)  # a model that kept no choices
    assert context.meter.first == (4, 4) and context.keys[0][1].name == "C major"
    for seed in range(10):  # chords without a key: the key they imply, a metre drawn for it
        context, _ = sample_context(melody, chords="Em C G D", choices=choices,
                                    rng=np.random.default_rng(seed))
        assert context.keys[0][1].name == "G major" and context.meter.first == (6, 8)
