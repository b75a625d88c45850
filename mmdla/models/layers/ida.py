"""What the two DLA decoders share: the paper's DLA-Up (:class:`~mmdla.models.DLAUpHead`)
and CenterNet's deformable one (:class:`~mmdla.models.CenterNetDLANeck`).

Both up-sample with a depthwise transposed conv initialised to bilinear interpolation,
crop up-sampled maps to the map they meet (so that any input size works), and aggregate
the levels in the same iterative order (:func:`dla_up_steps`). They differ in how a step
projects (1x1 conv vs deformable 3x3) and merges (concatenation vs addition).
"""
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn


def bilinear_kernel(kernel_size: int) -> torch.Tensor:
    """The (k, k) bilinear up-sampling kernel of the official ``fill_up_weights``."""
    f = math.ceil(kernel_size / 2)
    c = (2 * f - 1 - f % 2) / (2. * f)
    ramp = 1 - (torch.arange(kernel_size, dtype=torch.float64) / f - c).abs()
    return torch.outer(ramp, ramp).float()


def bilinear_upsampling(channels: int, factor: int) -> nn.ConvTranspose2d:
    """Depthwise transposed conv (k=2f, s=f, p=f//2, no bias) set to bilinear up-sampling:
    (N, C, H, W) -> (N, C, f*H, f*W)."""
    up = nn.ConvTranspose2d(
        channels,
        channels,
        factor * 2,
        stride=factor,
        padding=factor // 2,
        groups=channels,
        bias=False)
    fill_bilinear_(up)
    return up


@torch.no_grad()
def fill_bilinear_(up: nn.ConvTranspose2d):
    up.weight.copy_(bilinear_kernel(up.kernel_size[0]).expand_as(up.weight))


def crop_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Crop the bottom/right of an up-sampled map to ``size`` (a no-op when equal).

    Traced, exported or compiled (``torch.jit.trace``, ``torch.onnx.export``,
    ``torch.export``, ``torch.compile``) it always slices, with ``size`` as traced values:
    comparing the sizes in Python would fix the branch taken at the example input's size,
    and a graph traced at a multiple of 32 would have no crop at all and fail at other
    sizes. The values are the same (a slice to the full size is the map itself).
    """
    h, w = size
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return x[..., :h, :w]
    if x.shape[-2] == h and x.shape[-1] == w:
        return x
    if x.shape[-2] < h or x.shape[-1] < w:
        raise ValueError(f'cannot crop a {tuple(x.shape[-2:])} map to {tuple(size)}')
    return x[..., :h, :w]


def dla_up_steps(channels: Sequence[int]) -> List[Tuple[int, List[int], List[int]]]:
    """The IDA-Up steps of DLA-Up over levels of ``channels`` (shallowest first, strides
    doubling): for step ``i`` (``ida_i``, from the deepest pair to the shallowest level)
    its output channels, the channels of its inputs and their up-sampling factors. After a
    step, the deeper levels it refined have its channels and resolution (official
    ``DLAUp.__init__``)."""
    n = len(channels)
    if n < 2:
        raise ValueError(f'DLA-Up needs at least two levels, got channels={channels}')
    in_channels, scales = list(channels), [2**i for i in range(n)]
    steps = []
    for i in range(n - 1):
        j = n - i - 2
        steps.append((channels[j], in_channels[j:], [s // scales[j] for s in scales[j:]]))
        scales[j + 1:] = [scales[j]] * (n - j - 1)
        in_channels[j + 1:] = [channels[j]] * (n - j - 1)
    return steps
