"""The video autoencoder ("video decompressor"): 16x64x64 RGB <-> an 8-channel 8x16x16 latent.

Time is compressed 2x and space 4x (a 12x smaller tensor, 16x fewer DiT tokens than pixels would
need). Temporal mixing happens at the 16x16 level, where full 3D convolutions are cheap; the
higher-resolution stages use per-frame 3x3 convolutions, so decoding stays fast on a CPU.
A light KL term keeps the latent smooth for diffusion; the DiT sees `(mean - shift) / scale`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class VAEConfig:
    latent_channels: int = 8
    widths: tuple[int, int, int] = (32, 64, 128)  # at 64x64, 32x32, 16x16
    kl_weight: float = 1e-6
    reference: bool = False  # the decoder also takes the cameo picture (vae_reference.py)
    paste: bool = False  # and pastes it where the subject is (vae_paste.py; needs `reference`)


class FrameConv(nn.Module):
    """A 2D convolution applied to every frame: (B, C, T, H, W) folded to (B*T, C, H, W).

    Much faster than a (1, k, k) Conv3d in cuDNN and on CPUs, for the same function.
    """

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding)

    def forward(self, x):
        b, c, t, h, w = x.shape
        y = self.conv(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.reshape(b, t, *y.shape[1:]).transpose(1, 2)


def _conv(cin: int, cout: int, temporal: bool) -> nn.Module:
    return nn.Conv3d(cin, cout, 3, padding=1) if temporal else FrameConv(cin, cout)


class ResBlock(nn.Module):
    def __init__(self, width: int, temporal: bool):
        super().__init__()
        self.body = nn.Sequential(nn.GroupNorm(8, width), nn.SiLU(), _conv(width, width, temporal),
                                  nn.GroupNorm(8, width), nn.SiLU(), _conv(width, width, temporal))

    def forward(self, x):
        return x + self.body(x)


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        w0, w1, w2 = cfg.widths
        self.net = nn.Sequential(
            _conv(3, w0, False), ResBlock(w0, False),  # (B, w0, 16, 64, 64)
            FrameConv(w0, w1, 4, stride=2, padding=1), ResBlock(w1, False),  # 32x32
            nn.Conv3d(w1, w2, (2, 4, 4), stride=(2, 2, 2), padding=(0, 1, 1)),  # (B, w2, 8, 16, 16)
            ResBlock(w2, True), ResBlock(w2, True),
            nn.GroupNorm(8, w2), nn.SiLU(), _conv(w2, 2 * cfg.latent_channels, True),
        )

    def forward(self, x):  # (B, 3, 16, 64, 64) in [-1, 1] -> mean, logvar (B, C, 8, 16, 16)
        return self.net(x).chunk(2, dim=1)


class Decoder(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        w0, w1, w2 = cfg.widths
        self.low = nn.Sequential(_conv(cfg.latent_channels, w2, True), ResBlock(w2, True), ResBlock(w2, True))
        self.mid = nn.Sequential(_conv(w2, w1, True), ResBlock(w1, False))  # after 2x time + 2x space
        self.high = nn.Sequential(_conv(w1, w0, False), ResBlock(w0, False),
                                  nn.GroupNorm(8, w0), nn.SiLU(), _conv(w0, 3, False))
        self.reference = self.make_adapter(cfg) if cfg.reference else None
        self.paste = self.make_paster(cfg) if cfg.reference and cfg.paste else None

    @staticmethod
    def make_adapter(cfg: VAEConfig) -> nn.Module:
        from .vae_reference import ReferenceDecoderAdapter

        return ReferenceDecoderAdapter((cfg.widths[1], cfg.widths[0]))  # at 32x32 and 64x64

    @staticmethod
    def make_paster(cfg: VAEConfig) -> nn.Module:
        from .vae_paste import SubjectPaster

        return SubjectPaster(cfg.widths[1], cfg.widths[0])

    def forward(self, z, reference=None):  # (B, C, 8, 16, 16) [, picture (B, 3, 32, 32)] -> (B, 3, 16, 64, 64)
        if reference is None or self.reference is None:  # the plain decoder; one without an adapter ignores a picture
            x = self.mid(F.interpolate(self.low(z), scale_factor=(2, 2, 2), mode="nearest"))
            return self.high(F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest"))
        decoded, x32, h64 = self.features(z, reference)
        return decoded if self.paste is None else self.paste(decoded, x32, h64, reference)

    def features(self, z, reference):
        """Decoding with the picture: (video, the 32x32 features after the adapter, the 64x64 ones before the
        output layers), the last two for vae_paste.py."""
        x = self.mid(F.interpolate(self.low(z), scale_factor=(2, 2, 2), mode="nearest"))
        tokens = self.reference.tokens(reference)
        x32 = self.reference(0, x, tokens)  # 32x32 features attend to the picture
        x = self.high[0](F.interpolate(x32, scale_factor=(1, 2, 2), mode="nearest"))
        h64 = self.high[1](self.reference(1, x, tokens))  # and 64x64 ones
        return self.high[2:](h64), x32, h64


class VideoVAE(nn.Module):
    def __init__(self, cfg: VAEConfig | None = None):
        super().__init__()
        self.cfg = cfg or VAEConfig()
        self.encoder = Encoder(self.cfg)
        self.decoder = Decoder(self.cfg)
        # latent normalisation, measured after training (see train.py)
        self.register_buffer("latent_shift", torch.zeros(self.cfg.latent_channels))
        self.register_buffer("latent_scale", torch.ones(self.cfg.latent_channels))
        # latent -> mean RGB of the pixels it covers, fitted by least squares: cheap previews
        self.register_buffer("preview_rgb", torch.zeros(self.cfg.latent_channels + 1, 3))

    @staticmethod
    def to_unit(video_uint8: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, 3) uint8 -> (B, 3, T, H, W) float in [-1, 1]."""
        return video_uint8.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0

    @staticmethod
    def to_uint8(x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) in [-1, 1] -> (B, T, H, W, 3) uint8."""
        return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 4, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised latent mean for the DiT: (B, 3, T, H, W) -> (B, C, T/2, H/4, W/4)."""
        mean, _ = self.encoder(x)
        return (mean - self.latent_shift.view(1, -1, 1, 1, 1)) / self.latent_scale.view(1, -1, 1, 1, 1)

    @property
    def has_reference(self) -> bool:
        """True when the decoder can take the cameo picture."""
        return self.decoder.reference is not None

    def decode(self, z: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised latent [+ cameo picture (B, 3, 32, 32) in [-1, 1]] -> video in [-1, 1]."""
        z = z * self.latent_scale.view(1, -1, 1, 1, 1) + self.latent_shift.view(1, -1, 1, 1, 1)
        return self.decoder(z, reference)

    def preview(self, z: torch.Tensor, frame: int | None = None) -> torch.Tensor:
        """Cheap RGB of one latent frame without the decoder: (B, C, T, h, w) -> (B, h, w, 3) uint8."""
        zf = z[:, :, z.shape[2] // 2 if frame is None else frame].float()  # (B, C, h, w)
        zf = torch.cat([zf, torch.ones_like(zf[:, :1])], 1).permute(0, 2, 3, 1)  # (B, h, w, C+1)
        return ((zf @ self.preview_rgb.float()).clamp(-1, 1) * 127.5 + 127.5).round().to(torch.uint8)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training loss on a clean batch in [-1, 1]; returns (loss, reconstruction)."""
        mean, logvar = self.encoder(x)
        logvar = logvar.clamp(-20, 5)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        recon = self.decoder(z)
        rec = F.mse_loss(recon.float(), x) + 0.5 * F.l1_loss(recon.float(), x)
        kl = 0.5 * (mean.float().pow(2) + logvar.float().exp() - 1 - logvar.float()).mean()
        return rec + self.cfg.kl_weight * kl, recon


def psnr(a_uint8: torch.Tensor, b_uint8: torch.Tensor) -> float:
    mse = (a_uint8.float() - b_uint8.float()).pow(2).mean().item()
    return 99.0 if mse == 0 else 10 * torch.log10(torch.tensor(255.0**2 / mse)).item()
