import pytest
import torch

from generation.dit.checkpoint import save_json, save_sharded
from generation.dit.model import DiT, make_config
from generation.dit.vae import VAEConfig, VideoVAE


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """A folder laid out like generation/dit/weights, holding a random-init 'tiny' DiT and a VAE."""
    folder = tmp_path_factory.mktemp("tiny-weights")
    torch.manual_seed(0)
    dit = DiT(make_config("tiny"))
    for p in dit.parameters():  # adaLN-Zero starts as a no-op; perturb so the output depends on the input
        p.data += 0.02 * torch.randn_like(p)
    save_sharded(dit.state_dict(), folder, "dit")
    save_sharded(VideoVAE(VAEConfig()).state_dict(), folder, "vae")
    save_json({"dit": {"name": "tiny"}, "vae": {}, "sampler": {"steps": 4, "guidance": 2.0, "shift": 3.0},
               "version": "tiny-test"}, folder / "config.json")
    return folder


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_weights):
    from generation.dit.pipeline import Pipeline

    return Pipeline.load(tiny_weights, "cpu")
