"""Sequence parallelism: 2 processes (gloo on the CPU) give the single-process output, whichever
attention kernel the model was built with (on the CPU every kernel falls back to SDPA: this checks the
Ulysses layout each kernel receives, tokens-major with the rank's heads)."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from generation.dit.model import DiT, make_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _model_and_inputs(attention: str = "sdpa"):
    torch.manual_seed(0)
    model = DiT(make_config("tiny", heads=4, attention=attention))
    for p in model.parameters():  # adaLN-Zero starts as a no-op: perturb so every layer matters
        p.data += 0.05 * torch.randn_like(p)
    cfg = model.cfg
    z = torch.randn(2, cfg.latent_channels, *cfg.latent_size)
    ids = torch.randint(1, 20, (2, 8))
    text, pooled, mask = model.encode_text(ids)
    return model.eval(), (z, torch.tensor([0.3, 0.8]), text.detach(), pooled.detach(), mask)


def _rank(rank: int, world: int, port: int, out_path: str, attention: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    from generation.dit.parallel import sequence_parallel

    model, inputs = _model_and_inputs(attention)
    with torch.no_grad():
        out = sequence_parallel(model)(*inputs)
    if rank == 0:
        torch.save(out, out_path)
    dist.destroy_process_group()


@pytest.mark.parametrize("attention", ["sdpa", "fp8"])
def test_two_ranks_match_one(tmp_path, attention):
    model, inputs = _model_and_inputs(attention)
    with torch.no_grad():
        expected = model(*inputs)
    out_path = str(tmp_path / "out.pt")
    mp.start_processes(_rank, args=(2, _free_port(), out_path, attention), nprocs=2, start_method="fork")
    got = torch.load(out_path)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert expected.abs().mean() > 1e-3  # a real output, not zeros
