"""Every model setting has an explicit range, and the ranges are honest: each setting at each end of its range
(the others at their defaults) builds a model whose networks make images of the right shape.

The models are built shapes-only (models.generative.shapes_only: the meta device, no memory), as a checkpoint's
model is before its weights are read, so the largest settings in range cost nothing here.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.config_check import Choice, Flag, Number, Whole, Wholes
from models.family import build_skeleton, families
from models.feature_net import FeatureNet, FeatureNetConfig
from models.generative import shapes_only

CONFIGS = {family.name: family.config_class for family in families()}


@pytest.mark.parametrize("config_class", [*CONFIGS.values(), FeatureNetConfig], ids=[*CONFIGS, "feature_net"])
def test_every_setting_has_a_range(config_class):
    fields = {f.name for f in dataclasses.fields(config_class)}
    assert set(config_class.RANGES) == fields
    config_class()  # the defaults lie inside


def ends(allowed) -> list:
    """The values at each end of a setting's range (and a rule's nearest allowed values)."""
    if isinstance(allowed, Whole):
        inside = [v for v in (allowed.low, allowed.low + 1, allowed.high - 1, allowed.high)
                  if not allowed.rule or allowed.rule(v)]
        top = next(v for v in range(allowed.high, allowed.low - 1, -1) if not allowed.rule or allowed.rule(v))
        bottom = next(v for v in range(allowed.low, allowed.high + 1) if not allowed.rule or allowed.rule(v))
        return sorted({*inside, top, bottom})
    if isinstance(allowed, Number):
        return [allowed.low, allowed.high * (0.999 if allowed.high_open else 1.0)]
    if isinstance(allowed, Choice):
        return list(allowed.options)
    if isinstance(allowed, Flag):
        return [False, True]
    assert isinstance(allowed, Wholes)
    most = [allowed.each.high] * allowed.max_count
    return [[allowed.each.low] * max(1, allowed.min_count), most, [allowed.each.low] * allowed.max_count]


def settings_to_try(family: str) -> list[dict]:
    config_class = CONFIGS[family]
    tries = []
    for field, allowed in config_class.RANGES.items():
        for value in ends(allowed):
            config = {field: value}
            if family == "diffusion" and field == "image_size":
                config["channel_mults"] = [1]  # one level: every image size takes it
            if family == "diffusion" and field == "channel_mults":
                config["image_size"] = 256  # seven levels: 256 px down to 4 px
                config["channel_mults"] = list(value)[:7]
            if family == "latent-diffusion" and field == "image_size":
                config |= {"channel_mults": [1], "attention_resolutions": []}  # one level: a 2 x 2 latent takes it
            if family == "latent-diffusion" and field == "channel_mults":
                config["image_size"] = 256  # five levels: a 64 x 64 latent down to 4 x 4
            tries.append(config)
    return tries


def check_shapes(family: str, config: dict) -> None:
    model = build_skeleton(family, config)
    size = model.image_size
    with shapes_only():
        if family == "diffusion":
            noise = model.eps(torch.zeros(2, 3, size, size), torch.zeros(2, dtype=torch.long))
            assert noise.shape == (2, 3, size, size)
        elif family == "latent-diffusion":  # one denoising step, the decoder, the encoder and the classifier
            z = torch.zeros(2, *model.latent_shape)
            assert model.eps(z, torch.zeros(2, dtype=torch.long)).shape == z.shape
            assert model.from_latent(z).shape == (2, 3, size, size)
            assert model.to_latent(torch.zeros(2, 3, size, size)).shape == z.shape
            assert model.classifier(z, torch.zeros(2, dtype=torch.long)).shape[0] == 2
        else:
            images = model.decode(torch.zeros(2, *model.latent_shape))
            assert images.shape == (2, 3, size, size)
        if family == "vae":
            mu, sigma = model.posterior(torch.zeros(2, 3, size, size))
            assert mu.shape == sigma.shape == (2, *model.latent_shape)
        if family == "gan":
            assert model.discriminator(torch.zeros(4, 3, size, size)).shape == (4,)
    assert all(p.is_meta for p in model.parameters()), "a shapes-only model holds no memory"


@pytest.mark.parametrize("family", list(CONFIGS))
def test_each_setting_at_each_end_of_its_range_builds_a_working_model(family):
    problems = []
    for config in settings_to_try(family):
        try:
            check_shapes(family, config)
        except Exception as exc:  # noqa: BLE001 - collected, so that one run lists them all
            problems.append(f"{config}: {type(exc).__name__}: {exc}")
    assert problems == []


def test_each_feature_net_setting_at_each_end_of_its_range_builds_a_working_net():
    for field, allowed in FeatureNetConfig.RANGES.items():
        for value in ends(allowed):
            with shapes_only():
                net = FeatureNet(FeatureNetConfig(**{field: tuple(value) if isinstance(value, list) else value}))
                features = net.features(torch.zeros(2, 3, 32, 32))
            assert features.shape == (2, net.feature_dim)


def test_a_diffusion_config_checks_its_u_net_settings_too():
    from models.config_check import ConfigError
    from models.diffusion import DiffusionConfig
    for bad in ({"channel_mults": (1, 2, 2, 2, 2, 2)}, {"image_size": 16, "channel_mults": (1, 2, 2, 2)},
                {"base_channels": 12}, {"res_blocks": 0}, {"heads": 0}, {"dropout": 1.0}, {"timesteps": 0}):
        with pytest.raises(ConfigError, match=f"setting '{next(iter(bad)) if len(bad) == 1 else 'channel_mults'}'"):
            DiffusionConfig(**bad)


def test_building_shapes_only_on_one_thread_leaves_the_others_real():
    """The worker checks a checkpoint shapes-only while other threads go on making real tensors."""
    import threading

    inside, leave = threading.Event(), threading.Event()

    def check() -> None:
        with shapes_only():
            inside.set()
            leave.wait(30)

    thread = threading.Thread(target=check)
    thread.start()
    try:
        assert inside.wait(30)
        assert torch.zeros(3).device.type == "cpu" and torch.nn.Linear(2, 2).weight.device.type == "cpu"
    finally:
        leave.set()
        thread.join()
