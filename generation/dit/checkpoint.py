"""Weights on disk: safetensors shards of at most 15 MiB (device runs return files of <= 16 MiB)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

SHARD_BYTES = 15 * 1024 * 1024


def save_sharded(state: dict[str, torch.Tensor], folder: Path, name: str, dtype=torch.bfloat16) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{name}-*.safetensors"):
        old.unlink()
    shards, current, size = [], {}, 0
    for key, tensor in state.items():
        t = tensor.detach().to("cpu")
        t = t.to(dtype) if t.is_floating_point() else t
        nbytes = t.numel() * t.element_size()
        if current and size + nbytes > SHARD_BYTES:
            shards.append(current)
            current, size = {}, 0
        current[key] = t.contiguous()
        size += nbytes
    shards.append(current)
    files = []
    for i, shard in enumerate(shards):
        fname = f"{name}-{i + 1:02d}-of-{len(shards):02d}.safetensors"
        save_file(shard, str(folder / fname))
        files.append(fname)
    return files


def load_sharded(folder: Path, name: str) -> dict[str, torch.Tensor]:
    files = sorted(folder.glob(f"{name}-*.safetensors"))
    if not files:
        raise FileNotFoundError(f"no {name}-*.safetensors in {folder}")
    state = {}
    for f in files:
        state.update(load_file(str(f)))
    return state


def save_json(obj, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def load_json(path: Path):
    return json.loads(path.read_text())
