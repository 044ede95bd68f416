"""Training runs: learning, resume determinism, checkpoints, sampling and evaluation."""

import numpy as np
import pytest

from composer.errors import CheckpointError
from composer.evaluation.evaluate import evaluate
from composer.evaluation.ngram import KneserNey
from composer.generation.sampling import choose, generate
from composer.music.limits import corpus_limits
from composer.training import checkpoint
from composer.training.config import TrainConfig
from composer.training.train import (
    TrainingInterrupted,
    load_resume,
    new_run,
    portable_name,
    train,
)
from composer.training.trained import load_model

SMALL = dict(hidden_size=24, layers=2, seq_len=16, batch_size=4, transpose=1,
             val_fraction=0.2, dropout=0.1, lr=0.01, patience=3)
LEARN = dict(SMALL, hidden_size=32, layers=1, dropout=0.0, lr=0.02, epochs=15)


def quiet_train(corpus, out, run, **kwargs):
    return train(corpus, out, run, quiet=True, echo=lambda message: None, **kwargs)


@pytest.fixture(scope="module")
def trained_dir(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    quiet_train(tiny_corpus, out, new_run(TrainConfig(**LEARN)))
    return out


def test_training_beats_the_unigram_baseline_on_held_out_tunes(trained_dir, tiny_corpus):
    trained = load_model(trained_dir)
    result = evaluate(trained, tiny_corpus)
    assert result.split.endswith("training pieces left out")
    train_names = trained.data["train_names"]
    assert result.pieces == 40 - len(train_names) and result.split.startswith(str(len(train_names)))
    unigram = KneserNey(1, trained.encoding.vocab_size).fit(trained.train_tokens)
    unigram_nll = unigram.score(*_valid_and_events(trained, tiny_corpus)).nll
    assert result.model.nll < 0.6 * unigram_nll  # well below: the tunes have structure
    assert result.model.nll < result.baseline.nll  # and below the best Kneser-Ney n-gram
    assert result.model.event_accuracy > result.baseline.event_accuracy


def _valid_and_events(trained, corpus):
    from composer.evaluation.evaluate import evaluation_pieces

    sequences, _, _ = evaluation_pieces(trained, corpus)
    return sequences, trained.encoding.event_mask()


def test_the_corpus_note_limits_are_saved_in_the_model(trained_dir):
    trained = load_model(trained_dir)
    saved = trained.data["note_limits"]  # measured on the untransposed training tunes
    assert saved == corpus_limits(trained.encoding, trained.train_tokens).to_dict()
    limits = trained.note_limits
    # tests/tunes.py: eighth notes and one quarter note per bar; one note at a time
    assert set(limits.length_counts) <= {2, 4} and limits.length_counts[2] > limits.length_counts[4]
    assert limits.max_note_steps() == 4 and limits.max_voices() == 1
    del trained.data["note_limits"]  # a model from before: measured on its training tokens
    assert trained.note_limits == limits


def test_history_and_files(trained_dir):
    trained = load_model(trained_dir)
    assert [h["epoch"] for h in trained.history] == list(range(1, len(trained.history) + 1))
    assert trained.history[-1]["valid_nll"] < trained.history[0]["valid_nll"]
    assert (trained_dir / checkpoint.RESUME_FILE).is_file()
    assert not list(trained_dir.glob("*.tmp"))  # atomic writes leave nothing behind
    png = (trained_dir / "loss.png").read_bytes()  # the loss curve beside the checkpoint
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_interrupted_and_resumed_run_ends_with_the_same_parameters(tiny_corpus, tmp_path):
    config = TrainConfig(epochs=2, **SMALL)
    straight = quiet_train(tiny_corpus, tmp_path / "a", new_run(config))

    run = new_run(config)
    with pytest.raises(TrainingInterrupted, match="--resume"):
        quiet_train(tiny_corpus, tmp_path / "b", run, should_stop=lambda: run.progress.step == 23)
    resumed = quiet_train(tiny_corpus, tmp_path / "b", load_resume(tmp_path / "b"))
    assert resumed.progress.step == straight.progress.step
    for name, value in straight.params.items():
        assert np.array_equal(value, resumed.params[name]), name
    assert resumed.progress.history == straight.progress.history


def test_same_seed_same_model_other_seed_other_model(tiny_corpus, tmp_path):
    def params(seed, folder):
        config = TrainConfig(epochs=1, max_steps=5, seed=seed, **SMALL)
        return quiet_train(tiny_corpus, tmp_path / folder, new_run(config)).params

    a, b, c = params(1, "a"), params(1, "b"), params(2, "c")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["Wy"], c["Wy"])


def test_max_steps_stops_the_run(tiny_corpus, tmp_path):
    run = quiet_train(tiny_corpus, tmp_path, new_run(TrainConfig(epochs=5, max_steps=7, **SMALL)))
    assert run.progress.step == 7 and len(run.progress.history) == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign"])
def test_damaged_model_files_are_refused(trained_dir, tmp_path, damage):
    data = (trained_dir / checkpoint.MODEL_FILE).read_bytes()
    bad = tmp_path / "model.npz"
    if damage == "truncate":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # change one weight byte, keep the zip valid
        arrays, meta = checkpoint.load(trained_dir / checkpoint.MODEL_FILE)
        arrays["param.Wy"][0, 0] += 1.0
        np.savez(bad, **arrays, __meta__=np.frombuffer(
            __import__("json").dumps({"format": "composer-checkpoint", "version": 1, **meta})
            .encode(), dtype=np.uint8))
    else:
        np.savez(bad, weights=np.zeros(3))
    expected = {"truncate": "not a readable", "flip": "checksum", "foreign": "not a composer"}
    with pytest.raises(CheckpointError, match=expected[damage]):
        load_model(bad)


def test_sampling_is_reproducible_and_in_vocabulary(trained_dir):
    trained = load_model(trained_dir)
    a = generate(trained, 50, 3, rng=np.random.default_rng(5))
    b = generate(trained, 50, 3, rng=np.random.default_rng(5))
    assert a.shape == (3, 51) and np.array_equal(a, b)
    assert a.min() >= 0 and a.max() < trained.encoding.vocab_size


def test_temperature_near_zero_is_greedy(trained_dir):
    trained = load_model(trained_dir)
    primer = trained.train_tokens[0][:8]
    cold = generate(trained, 40, 2, temperature=1e-4, primer=primer, rng=np.random.default_rng(1))
    greedy = generate(trained, 40, 2, temperature=0, primer=primer, rng=np.random.default_rng(2))
    assert np.array_equal(cold, greedy)
    assert np.array_equal(cold[:, :8], np.tile(primer, (2, 1)))  # the primer opens the output


def test_choose_top_k_and_top_p():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 2000))
    top2 = choose(logits, 1.0, 2, 1.0, rng)
    assert set(np.unique(top2)) == {0, 1}
    assert abs(np.mean(top2 == 0) - 0.5 / 0.8) < 0.05
    nucleus = choose(logits, 1.0, 0, 0.85, rng)  # 0.5 + 0.3 < 0.85: three tokens kept
    assert set(np.unique(nucleus)) == {0, 1, 2}
    assert np.array_equal(choose(logits[:3], 0.0, 0, 1.0, rng), [0, 0, 0])


def test_data_folder_is_recorded_by_a_portable_name(tmp_path, monkeypatch):
    (tmp_path / "music" / "folk").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert portable_name("music/folk") == "music/folk"
    assert portable_name(tmp_path / "music" / "folk") == "music/folk"
    monkeypatch.chdir(tmp_path / "music" / "folk")
    assert portable_name(tmp_path / "music") == "music"  # outside: the folder's own name


def test_validation_scores_what_score_model_scores(trained_dir, tiny_corpus):
    """The validation shared among ranks (here one) is the held-out NLL as it always was:
    every held-out piece, its metre and key, its chords hidden."""
    from composer.data.contexts import ConditionFeatures
    from composer.data.dataset import load_dataset
    from composer.evaluation.scoring import score_model
    from composer.music.feature_edits import hide_chords
    from composer.training.resume import load_resume as load_run
    from composer.training.validation import validate

    run = load_run(trained_dir)
    config = run.config
    dataset = load_dataset(tiny_corpus, run.encoding, transpose=config.transpose,
                           val_fraction=config.val_fraction, seed=config.seed)
    run.features = ConditionFeatures(dataset.store, run.encoding, config.condition)
    result = validate(run, dataset, dataset.valid_rows)
    hidden = [hide_chords(run.features.piece_features(r), config.condition)
              for r in dataset.valid_rows.tolist()]
    expected = score_model(run.params, dataset.valid, run.encoding.event_mask(),
                           features=hidden, cond_sizes=config.cond_sizes())
    assert result.pieces == result.held_out == len(dataset.valid_rows)
    assert result.stderr == 0.0 and result.describe() == ""
    assert result.scores.steps == expected.steps
    assert result.scores.nll == pytest.approx(expected.nll, rel=1e-12)
    assert result.scores.accuracy == expected.accuracy
    assert run.progress.history[-1]["valid_nll"] == pytest.approx(expected.nll, rel=1e-12)


def test_a_large_held_out_split_is_sampled_and_the_figure_given_its_error(tiny_corpus,
                                                                          tmp_path):
    lines = []
    config = TrainConfig(**{**SMALL, "val_fraction": 0.3}, epochs=1, max_steps=4, val_pieces=4)
    run = train(tiny_corpus, tmp_path, new_run(config), quiet=True, echo=lines.append)
    epoch = run.progress.history[0]
    assert epoch["valid_pieces"] == 4 and epoch["valid_stderr"] > 0
    said = next(line for line in lines if line.startswith("epoch 1:"))
    held_out = int(next(line for line in lines if "for validation" in line)
                   .split(" for training, ")[1].split()[0])
    assert f"valid {epoch['valid_nll']:.4f} +- {epoch['valid_stderr']:.4f} (4 of {held_out} " \
           "pieces)" in said


def test_runs_saved_before_the_validation_sample_score_every_piece():
    assert TrainConfig.from_dict({}).val_pieces == 0  # as they did
    assert TrainConfig().val_pieces == 1000
    with pytest.raises(ValueError, match="val_pieces must be 0 or more, not -1"):
        TrainConfig(val_pieces=-1).validate()
