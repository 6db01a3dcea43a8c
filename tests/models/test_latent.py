import math

import pytest
import torch

from models.latent import interpolate, lerp, slerp, truncate


def test_lerp_endpoints_and_midpoint():
    a, b = torch.zeros(3), torch.tensor([2.0, 4.0, 6.0])
    path = lerp(a, b, 5)
    assert path.shape == (5, 3)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b) and torch.allclose(path[2], b / 2)


def test_slerp_stays_on_the_sphere_with_even_angles():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = slerp(a, b, 5)
    assert torch.allclose(path.norm(dim=1), torch.ones(5), atol=1e-6)
    angles = torch.atan2(path[:, 1], path[:, 0])
    assert torch.allclose(angles, torch.linspace(0, math.pi / 2, 5), atol=1e-6)
    # a straight line would pass inside the sphere
    assert lerp(a, b, 5)[2].norm() < 0.75


def test_slerp_meets_endpoints_of_different_length_and_any_shape():
    torch.manual_seed(0)
    a, b = torch.randn(3, 4, 4), 2 * torch.randn(3, 4, 4)
    path = slerp(a, b, 7)
    assert path.shape == (7, 3, 4, 4)
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    norms = path.flatten(1).norm(dim=1)
    assert torch.allclose(norms, torch.linspace(a.norm(), b.norm(), 7), atol=1e-4)


def test_slerp_of_parallel_vectors_falls_back_to_a_line():
    a = torch.tensor([1.0, 1.0])
    assert torch.allclose(slerp(a, 3 * a, 3)[1], 2 * a)


def test_interpolate_by_name_and_truncation():
    a, b = torch.randn(4), torch.randn(4)
    assert torch.equal(interpolate(a, b, 3, "lerp"), lerp(a, b, 3))
    with pytest.raises(ValueError):
        interpolate(a, b, 3, "cubic")
    z = torch.randn(10, 4)
    assert torch.allclose(truncate(z, 0.5), z / 2) and torch.equal(truncate(z, 1.0), z)
    assert torch.equal(truncate(z, 0.0), torch.zeros_like(z))
