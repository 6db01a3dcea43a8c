"""The noise-predicting U-Net: residual blocks conditioned on the time step, self-attention at low resolution."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from models.config_check import IMAGE_SIZE, ConfigError, Number, Whole, Wholes, check_ranges


@dataclass
class UNetConfig:
    image_size: int = 64
    base_channels: int = 32
    channel_mults: tuple[int, ...] = (1, 2, 2, 2)  # one level per entry; each level after the first halves the size
    res_blocks: int = 1  # residual blocks per level on the way down (one more on the way up)
    attention_resolutions: tuple[int, ...] = (16,)  # image sizes at which blocks also attend globally
    dropout: float = 0.0
    heads: int = 4

    # Every channel count is base_channels times a multiple, and skip connections add two of them: a multiple of 8
    # keeps each one divisible into GroupNorm's 8 groups. Each range bounds one setting; together their tops would
    # make 59.8 billion weights (223 GiB), so a checkpoint's model is also capped as a whole
    # (models.checkpoint.MAX_WEIGHTS, counted on a model built with no memory).
    RANGES: ClassVar[dict] = {
        "image_size": IMAGE_SIZE,
        "base_channels": Whole(8, 512, lambda n: n % 8 == 0, "a multiple of 8"),
        "channel_mults": Wholes(Whole(1, 8), 1, 7),
        "res_blocks": Whole(1, 8),
        "attention_resolutions": Wholes(Whole(1, 256), 0, 7),
        "dropout": Number(0.0, 1.0, high_open=True),
        "heads": Whole(1, 64),
    }

    def __post_init__(self):
        check_ranges(self)  # a subclass's RANGES (the diffusion model's) include its own fields
        levels = len(self.channel_mults)
        if self.image_size >> (levels - 1) < 4:
            most = self.image_size.bit_length() - 2  # down to 4 px
            raise ConfigError(f"setting 'channel_mults' has {levels} levels, too many for {self.image_size} px images "
                              f"(at most {most}: each level after the first halves the size, down to 4 px)")


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer time steps (N,) -> (N, dim), as in the Transformer."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=1)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, time_dim: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(time_dim, 2 * c_out)  # a scale and a shift per channel
        self.norm2, self.conv2 = _norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity: stable early training
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.time(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return h + self.skip(x)


class Attention(nn.Module):
    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads if channels % heads == 0 else 1
        self.norm = _norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        y = F.scaled_dot_product_attention(q, k, v)  # (n, heads, hw, c/heads)
        return x + self.out(y.transpose(-1, -2).reshape(n, c, h, w))


class Level(nn.Module):
    """The blocks of one resolution: residual blocks, each followed by attention where configured."""

    def __init__(self, channels_in: list[int], c_out: int, time_dim: int, attend: bool, config: UNetConfig):
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(c, c_out, time_dim, config.dropout) for c in channels_in)
        self.attentions = nn.ModuleList(
            Attention(c_out, config.heads) if attend else nn.Identity() for _ in channels_in)


class UNet(nn.Module):
    """The denoiser. By default it works on RGB images of config.image_size; the latent diffusion family runs it on
    its autoencoder's latent (`channels` of `size` x `size`) with a condition vector (`condition_dim` numbers, added
    to the time embedding through a small network: zeros mean "no condition", the unconditional model)."""

    def __init__(self, config: UNetConfig, channels: int = 3, size: int | None = None, condition_dim: int = 0):
        super().__init__()
        self.config = config
        base = config.base_channels
        time_dim = 4 * base
        self.base = base
        self.time_mlp = nn.Sequential(nn.Linear(base, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.condition_mlp = (nn.Sequential(nn.Linear(condition_dim, time_dim), nn.SiLU(),
                                            nn.Linear(time_dim, time_dim)) if condition_dim else None)
        self.stem = nn.Conv2d(channels, base, 3, padding=1)

        chans = [base * m for m in config.channel_mults]
        skips = [base]  # channels of every tensor saved for a skip connection, in order
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        c, size = base, size or config.image_size
        for i, c_out in enumerate(chans):
            ins = [c] + [c_out] * (config.res_blocks - 1)
            self.down.append(Level(ins, c_out, time_dim, size in config.attention_resolutions, config))
            c = c_out
            skips += [c] * config.res_blocks
            last = i == len(chans) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(c, c, 3, stride=2, padding=1))
            if not last:
                skips.append(c)
                size //= 2

        self.mid1 = ResBlock(c, c, time_dim, config.dropout)
        self.mid_attention = Attention(c, config.heads)
        self.mid2 = ResBlock(c, c, time_dim, config.dropout)

        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i, c_out in reversed(list(enumerate(chans))):
            n_blocks = config.res_blocks + 1
            ins = []
            for _ in range(n_blocks):
                ins.append(c + skips.pop())
                c = c_out
            self.up.append(Level(ins, c_out, time_dim, size in config.attention_resolutions, config))
            self.upsample.append(nn.Conv2d(c, c, 3, padding=1) if i > 0 else nn.Identity())
            if i > 0:
                size *= 2
        self.out_norm = _norm(c)
        self.out = nn.Conv2d(c, channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """x_t (N, C, H, W), t (N,) long in [0, T), condition (N, condition_dim) or None -> predicted noise."""
        emb = self.time_mlp(timestep_embedding(t, self.base))
        if self.condition_mlp is not None:
            if condition is None:
                condition = emb.new_zeros(x.shape[0], self.condition_mlp[0].in_features)
            emb = emb + self.condition_mlp(condition)
        h = self.stem(x)
        saved = [h]
        for level, down in zip(self.down, self.downsample):
            for block, attention in zip(level.blocks, level.attentions):
                h = attention(block(h, emb))
                saved.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                saved.append(h)
        h = self.mid2(self.mid_attention(self.mid1(h, emb)), emb)
        for level, up in zip(self.up, self.upsample):
            for block, attention in zip(level.blocks, level.attentions):
                h = attention(block(torch.cat([h, saved.pop()], dim=1), emb))
            if not isinstance(up, nn.Identity):
                h = up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.out(F.silu(self.out_norm(h)))
