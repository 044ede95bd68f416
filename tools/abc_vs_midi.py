"""Does a model trained on ABC files score as one trained on the same tunes as MIDI?

The tunes of data/ are split once (seeded, by file name) into training and held-out tunes.
The training tunes are written twice: as the MIDI files of data/, and as their ABC source
text from music21's corpus, grouped as in the sources (a file per source file, holding its
selected X: tunes, so multi-tune files are read too). The held-out tunes are written the
same two ways. A model is trained on each training folder with the same settings and seed,
and each model is scored by `composer evaluate` on both held-out folders.

    pip install music21==10.5.1           # only to find the ABC sources
    OPENBLAS_NUM_THREADS=1 nice -n 15 python tools/abc_vs_midi.py OUT --max-steps 1500

trains the two models side by side (one process each) and prints the four NLLs and the
gap between the two models on the same held-out tunes.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from build_corpus import split_tunes  # noqa: E402  (no music21 needed for this one)

from composer.data.cache import unit_hash  # noqa: E402

HELD_OUT = 0.1  # share of the tunes held out for the comparison


def music21_corpus() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def write_folders(out: Path, seed: int) -> dict[str, int]:
    """OUT/{abc,midi}-{train,test}/ from data/ and its ABC sources; counts of tunes."""
    rows = list(csv.DictReader((ROOT / "data" / "manifest.tsv").open(encoding="utf-8"),
                               delimiter="\t"))
    sources = music21_corpus()
    for name in ("abc-train", "abc-test", "midi-train", "midi-test"):
        shutil.rmtree(out / name, ignore_errors=True)
        (out / name).mkdir(parents=True)
    books: dict[tuple[str, str], list[str]] = {}  # (part, source file) -> tune blocks
    counts = {"train": 0, "test": 0}
    for row in rows:
        part = "test" if unit_hash(f"{seed}:{row['file']}") < HELD_OUT else "train"
        counts[part] += 1
        midi = out / f"midi-{part}" / row["file"]
        midi.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "data" / row["file"], midi)
        file, _, x = row["source"].partition("#X:")
        blocks = split_tunes((sources / file).read_text(encoding="utf-8"))
        chosen = [b for b in blocks if not x or b.split("\n", 1)[0].split(":")[1].strip() == x]
        block = next((b for b in chosen if f"T:{row['title']}" in b.replace("T: ", "T:")),
                     chosen[0])
        books.setdefault((part, file), []).append(block)
    for (part, file), blocks in books.items():
        path = out / f"abc-{part}" / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(blocks), encoding="utf-8")
    return counts


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "composer.cli", *args]


def run(*args: str) -> str:
    return subprocess.run(command(*args), capture_output=True, text=True, check=True).stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=1500)
    args = parser.parse_args(argv)
    counts = write_folders(args.out, args.seed)
    print(f"{counts['train']} training tunes, {counts['test']} held out (seed {args.seed})",
          flush=True)
    runs = {}
    for source in ("midi", "abc"):  # both at once, one process each
        model = args.out / f"model-{source}"
        shutil.rmtree(model, ignore_errors=True)
        runs[source] = subprocess.Popen(command(
            "train", str(args.out / f"{source}-train"), "--out", str(model), "--seed",
            str(args.seed), "--max-steps", str(args.max_steps), "--quiet"),
            stdout=subprocess.DEVNULL)
    for source, process in runs.items():
        if process.wait():
            raise SystemExit(f"training on {source} failed")
    scores = {}
    for source in ("midi", "abc"):
        for test in ("midi", "abc"):
            result = json.loads(run("evaluate", str(args.out / f"model-{source}"),
                                    str(args.out / f"{test}-test"), "--json"))
            scores[(source, test)] = result
            print(f"trained on {source}, held-out tunes as {test}: NLL "
                  f"{result['model']['nll']:.4f} over {result['model']['steps']} steps",
                  flush=True)
    for test in ("midi", "abc"):
        a, b = scores[("abc", test)]["model"]["nll"], scores[("midi", test)]["model"]["nll"]
        print(f"held out as {test}: the ABC-trained model's NLL is {100 * (a - b) / b:+.2f}% "
              "against the MIDI-trained model's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
