"""A tiny random-init DiT *with* reference conditioning (the model side of cameos), laid out like
generation/dit/weights: what a worker loads when the shipped weights cannot render cameos yet.
Its clips are noise, but every cameo code path in the pipeline is the real one."""
from pathlib import Path


def write_cameo_weights(folder: Path) -> Path:
    import torch

    from generation.dit.checkpoint import save_json, save_sharded
    from generation.dit.model import DiT, make_config
    from generation.dit.vae import VAEConfig, VideoVAE

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    save_sharded(DiT(make_config("tiny", reference=True)).state_dict(), folder, "dit")
    save_sharded(VideoVAE(VAEConfig()).state_dict(), folder, "vae")
    save_json({"dit": {"name": "tiny", "overrides": {"reference": True}}, "vae": {},
               "sampler": {"steps": 4, "guidance": 2.0, "shift": 3.0}, "version": "tiny-cameo-test"},
              folder / "config.json")
    return folder
