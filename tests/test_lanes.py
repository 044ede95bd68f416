"""The pieces of data-parallel training that need no MPI: lanes shared among ranks, each
lane's dropout draws, a batch cut for a share, the loss of a share, the launcher's
variables, the validation sample and its standard error."""

import subprocess
import sys

import numpy as np
import pytest

from composer.data.windows import piece_windows
from composer.errors import ComposerError
from composer.nn import model
from composer.training.lanes import LaneUniforms, lane_share
from composer.training.launch import launched_size, share_cores
from composer.training.validation import ratio_stderr, validation_rows
from composer.training.world import Solo, current_world


@pytest.mark.parametrize(("lanes", "size"), [(32, 1), (32, 2), (32, 3), (5, 4), (8, 8)])
def test_lane_shares_cover_the_batch_once_in_rank_order(lanes, size):
    shares = [lane_share(lanes, rank, size) for rank in range(size)]
    covered = [n for share in shares for n in range(lanes)[share]]
    assert covered == list(range(lanes))
    assert max(s.stop - s.start for s in shares) - min(s.stop - s.start for s in shares) <= 1


@pytest.mark.parametrize(("T", "H"), [(64, 256), (3, 5)])  # odd T * H: lanes padded
def test_a_share_draws_what_the_whole_batch_draws_at_its_lanes(T, H):
    whole = LaneUniforms(7, 12, slice(0, 8), 8)
    layers = [whole.random((T, 8, H)) for _ in range(2)]
    for share in (slice(0, 3), slice(3, 8), slice(5, 6)):
        part = LaneUniforms(7, 12, share, 8)
        for layer in layers:
            assert np.array_equal(part.random((T, share.stop - share.start, H)),
                                  layer[:, share])
    assert not np.array_equal(layers[0], layers[1])  # each layer its own draws
    assert layers[0].dtype == np.float32 and layers[0].min() >= 0 and layers[0].max() < 1


def test_draws_change_with_the_step_and_the_seed():
    draws = [LaneUniforms(seed, step, slice(0, 4), 4).random((5, 4, 6))
             for seed, step in ((0, 0), (0, 1), (1, 0))]
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])
    with pytest.raises(ValueError, match="draws for 3 lanes"):
        LaneUniforms(0, 0, slice(0, 4), 4).random((5, 3, 6))


def test_a_batch_cut_for_a_share_is_that_share_of_the_whole_batch(tiny_sequences):
    from composer.data.windows import EpochWindows

    offsets = np.concatenate([[0], np.cumsum([len(s) for s in tiny_sequences])])
    epoch = EpochWindows(np.concatenate(tiny_sequences), offsets, np.arange(len(tiny_sequences)),
                         np.arange(len(tiny_sequences)), np.arange(20)[None, :], [0], 6, 4)
    for k in range(len(epoch)):
        whole = epoch.batch(k)
        assert whole.targets == whole.mask.sum()
        for share in (slice(0, 2), slice(2, 6)):
            part = epoch.batch(k, share)
            assert part.targets == whole.targets
            for name in ("ids", "mask", "starts", "rows", "shifts", "positions"):
                assert np.array_equal(getattr(part, name), getattr(whole, name)[share]), name
    assert len(piece_windows(tiny_sequences, 6, 4)) == len(epoch)


@pytest.fixture
def tiny_sequences():
    rng = np.random.default_rng(3)
    return [rng.integers(0, 20, size=n) for n in (9, 2, 14, 5, 7, 11, 3, 8)]


def test_the_shares_losses_and_gradients_add_up_to_the_whole_batch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 6, 7))
    targets = rng.integers(0, 7, size=(5, 6))
    mask = (rng.random((5, 6)) > 0.3).astype(np.float64)
    loss, dlogits = model.cross_entropy(logits, targets, mask)
    total = mask.sum()
    parts = [model.cross_entropy(logits[:, s], targets[:, s], mask[:, s], total)
             for s in (slice(0, 2), slice(2, 6))]
    assert np.isclose(sum(p[0] for p in parts), loss, rtol=1e-12)
    assert np.allclose(np.concatenate([p[1] for p in parts], axis=1), dlogits, rtol=1e-12)


def test_the_launchers_variables():
    assert launched_size({}) == 0
    assert launched_size({"PMI_SIZE": "4", "PMI_RANK": "1"}) == 4
    assert launched_size({"OMPI_COMM_WORLD_SIZE": "2"}) == 2
    assert launched_size({"PMIX_RANK": "0"}) == 1


def test_each_rank_gets_its_share_of_the_cores_unless_told():
    env = {"PMI_SIZE": "2", "MPI_LOCALNRANKS": "2"}
    assert share_cores(env) >= 1 and env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"]
    told = {"PMI_SIZE": "2", "OMP_NUM_THREADS": "3"}
    assert share_cores(told) == 0 and "OPENBLAS_NUM_THREADS" not in told
    alone = {}
    assert share_cores(alone) == 0 and alone == {}


def test_a_plain_run_is_solo_and_never_loads_mpi4py():
    code = ("import sys, os\n"
            "for name in ('PMI_SIZE', 'PMI_RANK', 'PMIX_RANK', 'OMPI_COMM_WORLD_SIZE'):\n"
            "    os.environ.pop(name, None)\n"
            "import composer.cli\n"
            "from composer.training.world import current_world\n"
            "world = current_world()\n"
            "print(type(world).__name__, world.size, 'mpi4py' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["Solo", "1", "False"]


def test_several_launched_processes_without_mpi4py_are_refused(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py fails
    with pytest.raises(ComposerError, match=r"as 2 processes, but mpi4py is not installed: "
                                            r"pip install 'numpy-lstm-composer\[mpi\]'"):
        current_world({"PMI_SIZE": "2", "PMI_RANK": "0"})
    assert isinstance(current_world({"PMI_SIZE": "1"}), Solo)


def test_srun_tasks_that_are_not_one_mpi_job_are_refused():
    with pytest.raises(ComposerError, match="srun started 4 tasks .* --mpi=pmi2"):
        current_world({"SLURM_STEP_NUM_TASKS": "4"})
    assert isinstance(current_world({"SLURM_STEP_NUM_TASKS": "1"}), Solo)


def test_the_validation_sample_is_fixed_by_the_seed_and_capped():
    rows = np.arange(100, 600)
    assert validation_rows(rows, 0, 1) is rows and validation_rows(rows, 500, 1) is rows
    sample = validation_rows(rows, 50, 1)
    assert len(sample) == 50 and len(set(sample)) == 50 and np.all(np.diff(sample) > 0)
    assert np.array_equal(sample, validation_rows(rows, 50, 1))
    assert not np.array_equal(sample, validation_rows(rows, 50, 2))


def test_the_standard_error_matches_the_spread_of_sampled_ratios():
    rng = np.random.default_rng(0)
    steps = rng.integers(50, 400, size=5000).astype(float)  # a population of pieces
    nll = steps * rng.gamma(9, 0.1, size=steps.size)  # nats, about 0.9 a step
    truth = nll.sum() / steps.sum()
    picks = [rng.choice(steps.size, 200, replace=False) for _ in range(400)]
    estimates = [nll[p].sum() / steps[p].sum() for p in picks]
    errors = [ratio_stderr(nll[p], steps[p], steps.size) for p in picks]
    assert abs(np.mean(estimates) - truth) < 0.005
    assert np.median(errors) == pytest.approx(np.std(estimates), rel=0.15)
    assert ratio_stderr(nll, steps, steps.size) == 0.0  # every piece: no sampling error
