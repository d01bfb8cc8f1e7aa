"""Image metrics for the cameo evaluation: SSIM (Wang et al. 2004), PSNR, and an antialiased resize."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _gaussian(size: int = 7, sigma: float = 1.5) -> np.ndarray:
    g = np.exp(-((np.arange(size) - (size - 1) / 2) ** 2) / (2 * sigma * sigma))
    return g / g.sum()


def _filter(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of (H, W, ...) by the 1D window g along H and W."""
    k = len(g)
    x = np.lib.stride_tricks.sliding_window_view(x, k, axis=0) @ g
    return np.lib.stride_tricks.sliding_window_view(x, k, axis=1) @ g


def ssim(a: np.ndarray, b: np.ndarray, window: int = 7, sigma: float = 1.5) -> float:
    """Mean SSIM (Wang et al. 2004, C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = 255) of two (H, W[, 3])
    images with values 0..255, averaged over the channels."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape and min(a.shape[:2]) >= window, (a.shape, b.shape)
    g = _gaussian(window, sigma)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _filter(a, g), _filter(b, g)
    var_a = _filter(a * a, g) - mu_a ** 2
    var_b = _filter(b * b, g) - mu_b ** 2
    cov = _filter(a * b, g) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(s.mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def resize_to(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, 3) -> (height, width, 3) float, bilinear and antialiased (torch; no Pillow)."""
    x = torch.from_numpy(np.ascontiguousarray(img, np.float32)).permute(2, 0, 1)[None]
    x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return x[0].permute(1, 2, 0).numpy()


def resize(img: np.ndarray, side: int) -> np.ndarray:
    return resize_to(img, side, side)
