"""Training on several MPI ranks, run for real with `mpiexec -n 2` (and -n 4).

The same run on 1, 2 or 4 ranks must give the same losses and weights up to the
rounding of the gradients' sum; a run stopped on 2 ranks resumes on 1; a rank that
fails or is killed ends the job, and the last checkpoint still resumes. Skipped, with
the reason, where mpi4py or mpiexec is missing (pip install -e ".[mpi]").
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from composer.training import checkpoint
from composer.training.config import TrainConfig
from composer.training.train import load_resume, train

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "mpi_train.py"
LAUNCHER_ENV = ("PMI_SIZE", "PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE",
                "OMPI_COMM_WORLD_RANK", "SLURM_STEP_NUM_TASKS")


def _mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"  # the mpich wheel's, in the venv
    return str(beside) if beside.is_file() else shutil.which("mpiexec")


def _missing() -> str:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install -e '.[mpi]')"
    return "" if _mpiexec() else "no mpiexec on PATH (pip install -e '.[mpi]')"


pytestmark = pytest.mark.skipif(bool(_missing()), reason=_missing() or "")


def mpirun(ranks: int, *args, timeout=120, check=True) -> subprocess.CompletedProcess:
    """`mpiexec -n RANKS python tests/mpi_train.py ARGS` (oversubscribing the 2 cores)."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV}
    command = [_mpiexec(), "-n", str(ranks), sys.executable, str(SCRIPT), *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check and done.returncode not in (0, 130):
        raise AssertionError(f"{command} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done


def per_step_losses(report: dict) -> np.ndarray:
    """The loss of each step from the epoch's loss sum before each step."""
    sums = np.array([s for _, _, s in report["loss_sums"]])
    return np.diff(sums)


def reports(out: Path, ranks: int, rank: int = 0) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(out / f"weights-{ranks}-rank{rank}.npz") as weights:
        return json.loads((out / f"steps-{ranks}.json").read_text()), dict(weights)


@pytest.fixture(scope="module")
def one_rank(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    mpirun(1, tiny_corpus, out)
    return reports(out, 1)


@pytest.mark.parametrize("ranks", [2, 4])
def test_ranks_give_the_same_losses_and_weights_as_one(tiny_corpus, tmp_path, one_rank, ranks):
    mpirun(ranks, tiny_corpus, tmp_path)
    (alone, weights_alone), (shared, weights_shared) = one_rank, reports(tmp_path, ranks)
    assert shared["step"] == alone["step"] == 20
    losses, expected = per_step_losses(shared), per_step_losses(alone)
    assert len(losses) == 19 and np.all(losses > 0)
    assert np.max(np.abs(losses - expected)) < 1e-5
    assert abs(shared["history"][0]["valid_nll"] - alone["history"][0]["valid_nll"]) < 1e-5
    # Weights: float32 sums split among ranks round differently, and Adam scales an
    # element whose gradient is almost all cancellation (a rarely heard conditioning row)
    # up to a whole step: measured, 6 of 48,962 elements past 1e-6 (at most 1.1e-5 on
    # 4 ranks), every other one within 1e-6.
    gaps = np.concatenate([np.abs(weights_shared[name] - value).ravel()
                           for name, value in weights_alone.items()])
    assert np.mean(gaps > 1e-6) < 1e-3 and gaps.max() < 1e-4
    for rank in range(1, ranks):  # every rank took the very same steps
        _, weights = reports(tmp_path, ranks, rank)
        assert all(np.array_equal(weights[name], weights_shared[name]) for name in weights)


def test_a_run_stopped_on_two_ranks_resumes_on_one(tiny_corpus, tmp_path, one_rank):
    stopped = mpirun(2, tiny_corpus, tmp_path, "--stop-at", 10)
    assert stopped.returncode == 130
    assert load_resume(tmp_path).progress.step == 10
    mpirun(1, tiny_corpus, tmp_path, "--resume")
    (alone, weights_alone), (resumed, weights_resumed) = one_rank, reports(tmp_path, 1)
    assert resumed["step"] == 20
    assert np.max(np.abs(per_step_losses(resumed) - per_step_losses(alone)[10:])) < 1e-5
    for name, value in weights_alone.items():
        assert np.allclose(weights_resumed[name], value, rtol=0, atol=1e-5), name


def test_a_failing_rank_ends_the_job_with_its_message(tiny_corpus, tmp_path):
    started = time.monotonic()
    failed = mpirun(2, tiny_corpus, tmp_path, "--fail-rank", 1, "--fail-at", 5, check=False,
                    timeout=60)
    assert failed.returncode not in (0, 130)
    assert time.monotonic() - started < 60  # no rank left waiting for the other
    assert "Error: rank 1 of 2: RuntimeError: rank 1 fails on purpose at step 5; stopping " \
           "every rank" in failed.stderr


def test_a_killed_rank_ends_the_job_and_the_checkpoint_resumes(tiny_corpus, tmp_path):
    settings = json.dumps({"epochs": 200})  # long enough to be killed during
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV}
    job = subprocess.Popen([_mpiexec(), "-n", "2", sys.executable, str(SCRIPT), tiny_corpus,
                            tmp_path, "--steps", "0", "--settings", settings],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        saved = tmp_path / checkpoint.RESUME_FILE
        deadline = time.monotonic() + 60
        while not (saved.exists() and (tmp_path / "pid-1").exists()):
            assert job.poll() is None and time.monotonic() < deadline, job.stderr.read()
            time.sleep(0.1)
        os.kill(int((tmp_path / "pid-1").read_text()), signal.SIGKILL)
        stdout, stderr = job.communicate(timeout=60)  # the launcher ends rank 0 too
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0
    said = stdout + stderr  # MPICH's launcher reports on stdout
    assert "BAD TERMINATION" in said and "Killed (signal 9)" in said, said[-2000:]
    run = load_resume(tmp_path)  # whatever step it was at, the file is whole
    assert run.progress.step > 0 and run.progress.epoch >= 1
    run.config.max_steps = run.progress.step + 3
    train(tiny_corpus, tmp_path, run, quiet=True, echo=lambda message: None)
    assert run.progress.step == run.config.max_steps


def test_composer_train_under_mpiexec_prints_once(tiny_corpus, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_ENV}
    composer = Path(sys.executable).parent / "composer"
    done = subprocess.run([_mpiexec(), "-n", "2", str(composer), "train", str(tiny_corpus),
                           "--out", str(tmp_path), "--max-steps", "6", "--batch-size", "4",
                           "--hidden-size", "16", "--seq-len", "16", "--val-fraction", "0.2"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("training on 2 MPI ranks, 4 lanes in all") == 1
    assert done.stdout.count("done in") == 1 and done.stdout.count("epoch 1:") == 1
    assert load_model_config(tmp_path).batch_size == 4


def load_model_config(out: Path) -> TrainConfig:
    _, meta = checkpoint.load(out / checkpoint.MODEL_FILE)
    return TrainConfig.from_dict(meta["config"])
