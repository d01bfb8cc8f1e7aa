"""Held-out check of PromptNormalizer on the evaluation's prompts, without the model.

Runs `python -m generation.dit.eval --write-readings` and parses each reading back into a spec
(test_normalizer_dev.parse_reading): the template and the paraphrase of every evaluation spec should
read as that spec. The normalizer was developed on tests/dit/data/normalizer_prompts.json, not on these
prompts. Run this file as a script for the per-attribute table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_normalizer_dev import ATTRIBUTES, parse_reading  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# Measured after the normalizer work (see the commit); the template readings must stay exact.
PARAPHRASE_THRESHOLDS = {"colour": 0.97, "shape": 0.97, "size": 0.97, "motion": 0.97, "background": 0.97,
                         "wall": 1.0, "relation": 0.97, "other_colour": 0.97, "other_shape": 0.97, "all_correct": 0.97}


def eval_spec(spec) -> dict:
    a = spec.objects[0]
    want = {k: None for k in ATTRIBUTES}
    want.update(colour=a.colour, shape=a.shape, size=a.size, background=spec.background, wall=spec.kind == "wall")
    if spec.kind == "pair":
        b = spec.objects[1]
        want.update(relation=spec.relation, other_colour=b.colour, other_shape=b.shape, other_size=b.size)
    else:
        want["motion"] = a.motion
    return want


def measure(readings_path: Path) -> dict:
    from generation.dit import eval as dit_eval

    subprocess.run([sys.executable, "-m", "generation.dit.eval", "--write-readings", str(readings_path)],
                   cwd=ROOT, check=True, capture_output=True)
    readings = json.loads(readings_path.read_text())
    out = {}
    for phrasing in dit_eval.PHRASINGS:
        hits, wrong = {k: [] for k in [*ATTRIBUTES, "all_correct"]}, []
        for item in dit_eval.prompt_set():
            prompt = item["prompts"][phrasing]
            want, got = eval_spec(item["spec"]), parse_reading(readings[prompt]["words"])
            for k in ATTRIBUTES:
                if want[k] not in (None, False) or k == "wall":
                    hits[k].append(got[k] == want[k])
            hits["all_correct"].append(got == want)
            if got != want:
                wrong.append((prompt, readings[prompt]["text"], {k: (want[k], got[k]) for k in ATTRIBUTES if got[k] != want[k]}))
        out[phrasing] = ({k: round(sum(v) / len(v), 3) for k, v in hits.items() if v}, wrong)
    return out


@pytest.fixture(scope="module")
def eval_readings(tmp_path_factory):
    return measure(tmp_path_factory.mktemp("readings") / "readings.json")


def test_template_prompts_read_exactly(eval_readings):
    acc, wrong = eval_readings["template"]
    assert acc["all_correct"] == 1.0, wrong


@pytest.mark.parametrize("attribute", list(PARAPHRASE_THRESHOLDS))
def test_paraphrase_readings(eval_readings, attribute):
    acc, wrong = eval_readings["paraphrase"]
    assert acc[attribute] >= PARAPHRASE_THRESHOLDS[attribute], (attribute, acc, wrong)


if __name__ == "__main__":
    result = measure(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/readings.json"))
    for phrasing, (acc, wrong) in result.items():
        for p, r, diff in wrong:
            print(f"{phrasing}: {p!r}\n   -> {r!r}  {diff}")
        print(phrasing, json.dumps(acc))
