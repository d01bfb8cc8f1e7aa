"""CUDA graphs for the sampler's DiT forward (generation/dit/cuda_graphs.py): a replayed graph gives
the eager forward's result for every input signature the product uses, for new inputs each call,
from several threads at once; the CPU (and autograd) run the module itself. The GPU tests run on
the lent GPU (benchmarks/dit/README.md, "CUDA graphs"); CI has none and runs the CPU ones."""

import threading

import numpy as np
import pytest
import torch

from generation.dit.cuda_graphs import GraphedDiT, wants_cuda_graphs
from generation.dit.model import DiT, make_config

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _dit(device) -> DiT:
    torch.manual_seed(0)
    dit = DiT(make_config("tiny", reference=True, frame_condition=True))
    with torch.no_grad():
        for p in dit.parameters():  # adaLN-Zero starts as a no-op: perturb so every input matters
            p += 0.05 * torch.randn_like(p)
    return dit.to(device).eval()


def _inputs(dit: DiT, rows: int, seed: int, device, reference=False, known=False) -> dict:
    g = torch.Generator().manual_seed(seed)
    cfg = dit.cfg
    ids = torch.randint(1, 50, (rows, cfg.text_tokens), generator=g)
    ids[:, 5 + seed % 7:] = 0  # padded prompts: the text mask matters
    with torch.no_grad(), _autocast(device):
        text, pooled, mask = dit.encode_text(ids.to(device))
    args = {"z_t": torch.randn(rows, cfg.latent_channels, *cfg.latent_size, generator=g).to(device),
                "t": torch.rand(rows, generator=g).to(device), "text": text, "pooled": pooled, "text_mask": mask}
    if reference:
        args["reference"] = (torch.rand(rows, 3, 32, 32, generator=g) * 2 - 1).to(device)
    if known:
        args["known"] = torch.randn(rows, cfg.latent_channels, *cfg.latent_size, generator=g).to(device)
        mask = torch.zeros(rows, 1, *cfg.latent_size)
        mask[:, :, :2] = 1
        args["known_mask"] = mask.to(device)
    return args


def _autocast(device):
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=torch.device(device).type == "cuda")


def _run(fn, args, device):
    with torch.no_grad(), _autocast(device):
        return fn(**args).float()


def test_cpu_runs_the_module_itself():
    dit = _dit("cpu")
    graphed = GraphedDiT(dit)
    args = _inputs(dit, 2, 0, "cpu")
    assert torch.equal(_run(graphed, args, "cpu"), _run(dit, args, "cpu"))
    assert (graphed.graphs, graphed.replays, graphed.eager_calls) == (0, 0, 1)


def test_graphs_are_wanted_on_cuda_only_and_can_be_switched_off():
    assert wants_cuda_graphs(torch.device("cuda"), None)
    assert wants_cuda_graphs(torch.device("cuda"), "1")
    assert not wants_cuda_graphs(torch.device("cuda"), "0")
    assert not wants_cuda_graphs(torch.device("cpu"), None)


def test_cpu_pipeline_samples_with_the_module(tiny_pipeline):
    assert tiny_pipeline.net is tiny_pipeline.dit


@cuda
@pytest.mark.parametrize("rows,reference,known", [(1, False, False), (2, False, False), (3, False, False),
                                                  (2, True, False), (2, False, True), (32, False, False)])
def test_replay_equals_eager(rows, reference, known):
    dit = _dit("cuda")
    graphed = GraphedDiT(dit)
    for seed in range(3):  # the first call captures, the next ones replay with new inputs
        args = _inputs(dit, rows, seed, "cuda", reference, known)
        assert torch.equal(_run(graphed, args, "cuda"), _run(dit, args, "cuda")), seed
    assert (graphed.graphs, graphed.replays, graphed.eager_calls) == (1, 3, 0)


@cuda
def test_one_graph_per_signature_and_eager_past_the_limit():
    dit = _dit("cuda")
    graphed = GraphedDiT(dit, max_graphs=2)
    for rows in (1, 2, 3, 1, 2, 3):
        args = _inputs(dit, rows, rows, "cuda")
        assert torch.equal(_run(graphed, args, "cuda"), _run(dit, args, "cuda"))
    assert (graphed.graphs, graphed.replays, graphed.eager_calls) == (2, 4, 2)


@cuda
def test_autograd_runs_eager():
    dit = _dit("cuda")
    graphed = GraphedDiT(dit)
    args = _inputs(dit, 2, 0, "cuda")
    with _autocast("cuda"):
        out = graphed(**args)
    out.float().square().mean().backward()
    assert graphed.eager_calls == 1 and graphed.graphs == 0
    assert dit.final.weight.grad is not None


@cuda
def test_threads_each_get_their_own_result():
    dit = _dit("cuda")
    graphed = GraphedDiT(dit)
    cases = [_inputs(dit, 2, seed, "cuda") for seed in range(6)]
    expected = [_run(dit, args, "cuda") for args in cases]
    wrong = []

    def worker(i):
        for _ in range(10):
            if not torch.equal(_run(graphed, cases[i], "cuda"), expected[i]):
                wrong.append(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == [] and graphed.graphs == 1 and graphed.replays == 60


@cuda
def test_pipeline_video_is_the_eager_video(tiny_weights):
    from generation.dit.pipeline import Pipeline

    pipe = Pipeline.load(tiny_weights, "cuda")
    assert isinstance(pipe.net, GraphedDiT)
    graphed = pipe.generate("a red circle moving left", seed=3).frames
    assert pipe.net.replays == 4  # 4 steps, CFG in one call each
    pipe.net = pipe.dit
    eager = pipe.generate("a red circle moving left", seed=3).frames
    np.testing.assert_array_equal(graphed, eager)
