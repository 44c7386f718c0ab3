"""SIGReg, the sketched isotropic Gaussian regularisation of LeJEPA: Balestriero & LeCun, "LeJEPA: Provable and
Scalable Self-Supervised Learning Without the Heuristics", 2025, arXiv:2511.08544. Its per-direction test is the
Epps-Pulley statistic: Epps & Pulley, "A test for normality based on the empirical characteristic function",
Biometrika 70(3), 1983.

On embeddings z [N, D] it is defined exactly as follows. Draw M directions a_m uniformly on the unit sphere
(normalised standard normal vectors, from a seeded torch.Generator). For each projection x_j = <z_j, a_m>,
j = 1..N, the Epps-Pulley statistic against N(0, 1) is

    EP_m = N * integral_{-t_max}^{t_max} |phi_N(t) - exp(-t^2/2)|^2 * exp(-t^2/2) dt,
    phi_N(t) = (1/N) sum_j exp(i t x_j),
    |phi_N(t) - exp(-t^2/2)|^2 = (mean_j cos(t x_j) - exp(-t^2/2))^2 + (mean_j sin(t x_j))^2.

The integrand is even in t, so the integral is computed as twice the trapezoidal rule on ``num_knots``
equally spaced points of [0, t_max] (the LeJEPA release's quadrature: 17 knots, t_max = 3). The loss is
the mean of EP_m over the M directions. It is not centred or standardised: a sample only scores near 0 if
it is N(0, I)-like in location and scale as well as shape, which is what rules out shrinking.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ragcun.errors import ConfigError
from ragcun.losses.numerics import check_samples, full_precision

DEFAULT_SIGREG_DIRECTIONS = 256
DEFAULT_NUM_KNOTS = 17
DEFAULT_T_MAX = 3.0
# Bound on the [rows, directions, knots] block sigreg_statistic materialises at once (float64 elements).
_STATISTIC_BLOCK_ELEMENTS = 1 << 22


def _check_sigreg_settings(num_directions: int, num_knots: int, t_max: float) -> None:
    if num_directions < 1:
        raise ConfigError(f"sigreg_directions must be >= 1, got {num_directions}")
    if num_knots < 2:
        raise ConfigError(f"sigreg num_knots must be >= 2, got {num_knots}")
    if not t_max > 0:
        raise ConfigError(f"sigreg t_max must be > 0, got {t_max}")


def random_directions(dim: int, num_directions: int, generator: torch.Generator) -> Tensor:
    """[dim, num_directions] float32 unit columns, uniform on the sphere, drawn on the generator's device.

    Drawn in float32 whatever the data's dtype, so a seed gives the same directions for float32 training
    batches and float64 measurements.
    """
    a = torch.randn(dim, num_directions, generator=generator, device=generator.device, dtype=torch.float32)
    return a / torch.linalg.vector_norm(a, dim=0, keepdim=True)


def _knots(num_knots: int, t_max: float, like: Tensor) -> Tensor:
    return torch.linspace(0.0, t_max, num_knots, dtype=like.dtype, device=like.device)


def _epps_pulley(cos_mean: Tensor, sin_mean: Tensor, t: Tensor, n: int) -> Tensor:
    """EP statistic per direction from the empirical characteristic function on the knots.

    ``cos_mean``/``sin_mean`` [M, K] are the real/imaginary parts of phi_N at the K knots ``t`` of [0, t_max].
    """
    gauss = torch.exp(-0.5 * t * t)
    error = (cos_mean - gauss).square() + sin_mean.square()
    # The factor 2 folds in the mirrored half [-t_max, 0] of the even integrand.
    return n * 2.0 * torch.trapezoid(error * gauss, t, dim=-1)


def sigreg(
    z: Tensor,
    *,
    num_directions: int,
    generator: torch.Generator,
    num_knots: int = DEFAULT_NUM_KNOTS,
    t_max: float = DEFAULT_T_MAX,
) -> Tensor:
    """Differentiable SIGReg loss of z [N, D]: mean Epps-Pulley statistic over random directions.

    Each call draws ``num_directions`` new directions from ``generator`` (a fresh sketch every step, yet
    reproducible from the seed).
    """
    check_samples(z, 1)
    _check_sigreg_settings(num_directions, num_knots, t_max)
    with full_precision(z) as x:
        directions = random_directions(x.shape[1], num_directions, generator).to(device=x.device, dtype=x.dtype)
        t = _knots(num_knots, t_max, x)
        angles = (x @ directions).unsqueeze(-1) * t  # [N, M, K]
        return _epps_pulley(angles.cos().mean(0), angles.sin().mean(0), t, x.shape[0]).mean()


def _sigreg_no_grad(x: Tensor, num_directions: int, seed: int, block_rows: int) -> float:
    check_samples(x, 1)
    _check_sigreg_settings(num_directions, DEFAULT_NUM_KNOTS, DEFAULT_T_MAX)
    x = x.to(torch.float64)
    generator = torch.Generator().manual_seed(seed)
    directions = random_directions(x.shape[1], num_directions, generator).to(device=x.device, dtype=x.dtype)
    t = _knots(DEFAULT_NUM_KNOTS, DEFAULT_T_MAX, x)
    cos_sum = torch.zeros(num_directions, DEFAULT_NUM_KNOTS, dtype=x.dtype, device=x.device)
    sin_sum = torch.zeros_like(cos_sum)
    # Summing the characteristic function block by block keeps memory bounded for corpus-sized inputs.
    for start in range(0, x.shape[0], block_rows):
        angles = (x[start : start + block_rows] @ directions).unsqueeze(-1) * t
        cos_sum += angles.cos().sum(0)
        sin_sum += angles.sin().sum(0)
    n = x.shape[0]
    return float(_epps_pulley(cos_sum / n, sin_sum / n, t, n).mean())


@torch.no_grad()
def sigreg_statistic(x: np.ndarray | Tensor, num_directions: int, seed: int) -> float:
    """SIGReg of embeddings x [N, D] against N(0, I), as a measurement (no gradient, float64).

    Same definition and defaults (17 knots, t_max = 3) as the ``sigreg`` loss; the directions come from
    ``torch.Generator().manual_seed(seed)``, so ``sigreg(x, num_directions=M, generator=that generator)``
    gives the same number. Any N: rows are processed in bounded blocks.
    """
    tensor = torch.from_numpy(np.asarray(x)) if isinstance(x, np.ndarray) else x.detach()
    block_rows = max(1, _STATISTIC_BLOCK_ELEMENTS // (num_directions * DEFAULT_NUM_KNOTS))
    return _sigreg_no_grad(tensor, num_directions, seed, block_rows)
