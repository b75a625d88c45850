"""DCNv2 (modulated deformable convolution) in plain PyTorch ops, for export.

mmcv's ``ModulatedDeformConv2dPack`` is a custom op: ONNX Runtime and OpenVINO have no
kernel for it. :class:`PortableModulatedDeformConv2dPack` computes the same function from
ops every runtime has - ``grid_sample`` (bilinear, zeros outside the map) of the
``kh * kw`` taps of every output position, then one matrix product with the weights - and
has the same arguments, parameters and state-dict keys (``weight``, ``bias``,
``conv_offset.weight``, ``conv_offset.bias``), so a checkpoint of either loads into the
other. It is slower than mmcv's kernels in PyTorch; the exporters use it
(:func:`portable_deform_convs`), training and PyTorch inference keep mmcv's unless a
config asks for it (``CenterNetDLANeck(dcn_impl='pytorch')``).
"""
import copy
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.utils import _pair

from mmdla.registry import MODELS


def modulated_deform_conv2d(x: torch.Tensor,
                            offset: torch.Tensor,
                            mask: torch.Tensor,
                            weight: torch.Tensor,
                            bias: Optional[torch.Tensor],
                            stride: Tuple[int, int] = (1, 1),
                            padding: Tuple[int, int] = (0, 0),
                            dilation: Tuple[int, int] = (1, 1),
                            groups: int = 1,
                            deform_groups: int = 1) -> torch.Tensor:
    """mmcv's ``modulated_deform_conv2d`` in plain ops.

    Args:
        x: (N, C, H, W).
        offset: (N, deform_groups * 2 * kh * kw, Ho, Wo); per deform group and tap
            ``k = i * kw + j`` the channels ``2k`` (rows) and ``2k + 1`` (columns), as
            mmcv's (and the DCNv2 paper's) layout.
        mask: (N, deform_groups * kh * kw, Ho, Wo), the modulation (after the sigmoid).
        weight: (C_out, C / groups, kh, kw); bias: (C_out,) or None.

    Returns:
        (N, C_out, Ho, Wo): tap ``k`` of output ``(y, x)`` samples the input at
        ``(y * stride - padding + i * dilation + dy, x * stride - padding + j * dilation
        + dx)`` bilinearly (corners outside the map count as 0) and is scaled by its mask.
    """
    n, channels, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    taps = kh * kw
    out_h, out_w = offset.shape[-2:]
    dtype, device = x.dtype, x.device
    tap_rows = (torch.arange(kh, dtype=dtype, device=device) * dilation[0]).repeat_interleave(kw)
    tap_cols = (torch.arange(kw, dtype=dtype, device=device) * dilation[1]).repeat(kh)
    rows = torch.arange(out_h, dtype=dtype, device=device) * stride[0] - padding[0]
    cols = torch.arange(out_w, dtype=dtype, device=device) * stride[1] - padding[1]
    offset = offset.reshape(n, deform_groups, taps, 2, out_h, out_w)
    sample_rows = tap_rows.view(taps, 1, 1) + rows.view(1, out_h, 1) + offset[:, :, :, 0]
    sample_cols = tap_cols.view(taps, 1, 1) + cols.view(1, 1, out_w) + offset[:, :, :, 1]
    # pixel p -> grid_sample's [-1, 1] with align_corners=False: (2p + 1) / size - 1
    grid = torch.stack(((2 * sample_cols + 1) / width - 1, (2 * sample_rows + 1) / height - 1),
                       dim=-1)
    sampled = F.grid_sample(
        x.reshape(n * deform_groups, channels // deform_groups, height, width),
        grid.reshape(n * deform_groups, taps * out_h, out_w, 2),
        mode='bilinear',
        padding_mode='zeros',
        align_corners=False)  # (N * dg, C / dg, taps * Ho, Wo)
    sampled = sampled.reshape(n, deform_groups, channels // deform_groups, taps, out_h * out_w)
    sampled = sampled * mask.reshape(n, deform_groups, 1, taps, out_h * out_w)
    # columns (N, groups, C / groups * taps, Ho * Wo) in weight's (c, i, j) order
    columns = sampled.reshape(n, groups, channels // groups * taps, out_h * out_w)
    out = torch.matmul(weight.reshape(groups, out_channels // groups, -1), columns)
    out = out.reshape(n, out_channels, out_h, out_w)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


@MODELS.register_module()
class PortableModulatedDeformConv2dPack(nn.Module):
    """mmcv's ``ModulatedDeformConv2dPack`` (DCNv2: offsets and mask from ``conv_offset``)
    computed by :func:`modulated_deform_conv2d` (plain PyTorch ops: exportable to ONNX and
    OpenVINO). Same arguments, parameters, initialisation and state-dict keys.

    (N, in_channels, H, W) -> (N, out_channels, Ho, Wo), Ho and Wo as ``nn.Conv2d``'s.

    Example:
        >>> import torch
        >>> conv = PortableModulatedDeformConv2dPack(8, 16, 3, padding=1)
        >>> conv(torch.rand(2, 8, 9, 11)).shape
        torch.Size([2, 16, 9, 11])
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size,
                 stride=1,
                 padding=0,
                 dilation=1,
                 groups: int = 1,
                 deform_groups: int = 1,
                 bias: bool = True):
        super().__init__()
        if in_channels % groups or out_channels % groups or in_channels % deform_groups:
            raise ValueError(f'in_channels ({in_channels}) and out_channels ({out_channels}) '
                             f'must be divisible by groups ({groups}), in_channels by '
                             f'deform_groups ({deform_groups})')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        self.groups, self.deform_groups = groups, deform_groups
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.conv_offset = nn.Conv2d(
            in_channels,
            deform_groups * 3 * self.kernel_size[0] * self.kernel_size[1],
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            bias=True)
        self.init_weights()

    def init_weights(self) -> None:
        """As mmcv's: weights U(-1/sqrt(fan_in), ...), bias 0, offsets and mask logits 0."""
        bound = 1 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols, mask = torch.chunk(self.conv_offset(x), 3, dim=1)
        return modulated_deform_conv2d(x, torch.cat(
            (rows, cols), dim=1), mask.sigmoid(), self.weight, self.bias, self.stride, self.padding,
                                       self.dilation, self.groups, self.deform_groups)

    @classmethod
    def from_mmcv(cls, module: nn.Module) -> 'PortableModulatedDeformConv2dPack':
        """The same layer (same tensors, copied) as an mmcv ``ModulatedDeformConv2dPack``."""
        portable = cls(module.in_channels, module.out_channels, module.kernel_size, module.stride,
                       module.padding, module.dilation, module.groups, module.deform_groups,
                       module.bias is not None)
        portable.load_state_dict(module.state_dict())
        return portable.to(module.weight.device).train(module.training)


def is_mmcv_deform_conv(module: nn.Module) -> bool:
    """Whether ``module`` is mmcv's ``ModulatedDeformConv2dPack`` (the DCNv2 custom op)."""
    return (type(module).__name__ == 'ModulatedDeformConv2dPack'
            and type(module).__module__.startswith('mmcv.ops'))


def portable_deform_convs(model: nn.Module) -> Tuple[nn.Module, int]:
    """``(model, 0)`` when it has no mmcv ``ModulatedDeformConv2dPack``, else a copy of it
    with each of them replaced by :class:`PortableModulatedDeformConv2dPack` (same
    tensors) and their number. ``model`` itself is not changed."""
    names = [name for name, module in model.named_modules() if is_mmcv_deform_conv(module)]
    if not names:
        return model, 0
    model = copy.deepcopy(model)
    for name in names:
        parent_name, _, child = name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, PortableModulatedDeformConv2dPack.from_mmcv(getattr(parent, child)))
    return model, len(names)
