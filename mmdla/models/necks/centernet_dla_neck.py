"""CenterNet's DLA-34 decoder (``pose_dla_dcn.py`` of xingyizhou/CenterNet) as an MMDetection
neck, with CenterNet's module names so that its ctdet checkpoints convert one to one.

How it differs from the paper's DLA-Up (:class:`~mmdla.models.DLAUpHead`): every IDA-Up
step projects each deeper level with a *deformable* 3x3 conv + BN + ReLU (the paper: a 1x1
conv, identity when the channels match) and merges by *addition* through a deformable 3x3
node (the paper: a 3x3 conv on the concatenation); it runs from stride 4 (levels 2..5) and
is followed by a final IDA-Up over the aggregates of levels 2..4. Shared with DLA-Up
(:mod:`mmdla.models.layers.ida`): the order of the steps and their channels / factors, the
bilinear-initialised depthwise transposed-conv up-sampling and the cropping that lets any
input size work (CenterNet itself needs multiples of 32).
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmdla.errors import ConfigInputError
from mmdla.models.layers import (PortableModulatedDeformConv2dPack, bilinear_upsampling, crop_to,
                                 dla_up_steps, fill_bilinear_)
from mmdla.registry import MODELS

#: the deformable conv's code: mmcv's kernels or plain PyTorch ops (exportable)
DCN_IMPLS = ('mmcv', 'pytorch')


class DeformConv(nn.Module):
    """CenterNet's ``DeformConv``: ``conv`` (3x3 modulated deformable conv, DCNv2, with bias)
    then ``actf`` (BN, ReLU). ``use_dcn=False``: a plain 3x3 conv with bias instead (its
    ``conv`` has no ``conv_offset``). ``dcn_impl``: 'mmcv' (mmcv's kernels) or 'pytorch'
    (:class:`~mmdla.models.layers.PortableModulatedDeformConv2dPack`, plain ops: exportable,
    slower), same tensors.

    # NOTE: CenterNet names the offset/mask conv ``conv_offset_mask``; mmcv's
    # ModulatedDeformConv2dPack (same computation) names it ``conv_offset``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 use_dcn: bool = True,
                 norm_cfg: dict = dict(type='BN'),
                 dcn_impl: str = 'mmcv'):
        super().__init__()
        if use_dcn:
            if dcn_impl == 'mmcv':
                from mmcv.ops import ModulatedDeformConv2dPack
            else:
                ModulatedDeformConv2dPack = PortableModulatedDeformConv2dPack
            self.conv = ModulatedDeformConv2dPack(
                in_channels, out_channels, 3, stride=1, padding=1, deform_groups=1, bias=True)
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=True)
        self.actf = nn.Sequential(
            build_norm_layer(norm_cfg, out_channels)[1], nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.actf(self.conv(x))


class AdditiveIDAUp(nn.Module):
    """CenterNet's ``IDAUp``: inputs 1..n-1 are projected (:class:`DeformConv`), up-sampled to
    input 0's resolution and folded in by ``node_i(up_i(proj_i(x_i)) + y_{i-1})``.

    ``forward(layers)`` -> the list ``[y_0 = layers[0], y_1, ..., y_{n-1}]``, each
    (N, out_channels, H0, W0).
    """

    def __init__(self,
                 out_channels: int,
                 in_channels: Sequence[int],
                 up_factors: Sequence[int],
                 use_dcn: bool = True,
                 norm_cfg: dict = dict(type='BN'),
                 dcn_impl: str = 'mmcv'):
        super().__init__()
        self.num_inputs = len(in_channels)
        conv_cfg = dict(use_dcn=use_dcn, norm_cfg=norm_cfg, dcn_impl=dcn_impl)
        for i in range(1, self.num_inputs):
            setattr(self, f'proj_{i}', DeformConv(in_channels[i], out_channels, **conv_cfg))
            setattr(self, f'up_{i}', bilinear_upsampling(out_channels, int(up_factors[i])))
            setattr(self, f'node_{i}', DeformConv(out_channels, out_channels, **conv_cfg))

    def forward(self, layers: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        ys = [layers[0]]
        size = layers[0].shape[-2:]
        for i in range(1, self.num_inputs):
            up = getattr(self, f'up_{i}')(getattr(self, f'proj_{i}')(layers[i]))
            ys.append(getattr(self, f'node_{i}')(crop_to(up, size) + ys[-1]))
        return ys


@MODELS.register_module(libraries=('mmdet', 'mmdet3d'))  # CenterNet, and SMOKE in mmdet3d
class CenterNetDLANeck(BaseModule):
    """CenterNet's DLA decoder (``dla_up`` + ``ida_up`` of ``pose_dla_dcn.DLASeg``).

    Args:
        in_channels (Sequence[int]): channels of the backbone levels from stride 4 to 32,
            ``(64, 128, 256, 512)`` for DLA-34 (``out_indices=(2, 3, 4, 5)``).
        use_dcn (bool): deformable convs (mmcv's DCNv2, CPU and GPU kernels) as CenterNet;
            False: plain 3x3 convs (no deformable sampling).
        dcn_impl (str): the deformable conv's code: 'mmcv' (its CPU / GPU kernels, default)
            or 'pytorch' (plain PyTorch ops; what the ONNX / OpenVINO exporters put in,
            same tensors and outputs).
        norm_cfg (dict): norm layers of the projections and nodes (BN as CenterNet).
        init_cfg: default: Kaiming for plain convs (the deformable convs keep mmcv's
            initialisation, offsets zero) and bilinear up-sampling, as CenterNet.

    Input: the backbone outputs at strides 4, 8, 16, 32 (any input size >= 32). Output: a
    1-tuple with the (N, in_channels[0], ceil(H / 4), ceil(W / 4)) map the CenterNet heads
    read (``CenterNetHead(in_channels=64, feat_channels=256)`` is CenterNet's
    ``head_conv=256`` head).

    Example:
        >>> import torch
        >>> from mmdla.models import DLA, CenterNetDLANeck
        >>> backbone = DLA('dla34', out_indices=(2, 3, 4, 5)).eval()
        >>> neck = CenterNetDLANeck(use_dcn=False).eval()
        >>> tuple(neck(backbone(torch.rand(1, 3, 96, 160)))[0].shape)
        (1, 64, 24, 40)
    """

    def __init__(self,
                 in_channels: Sequence[int] = (64, 128, 256, 512),
                 use_dcn: bool = True,
                 norm_cfg: dict = dict(type='BN'),
                 dcn_impl: str = 'mmcv',
                 init_cfg: Optional[dict] = None):
        if dcn_impl not in DCN_IMPLS:
            raise ConfigInputError(f'CenterNetDLANeck dcn_impl must be one of {DCN_IMPLS}, got '
                                   f'{dcn_impl!r}')
        if init_cfg is None:
            init_cfg = dict(
                type='Kaiming',
                layer='Conv2d',
                mode='fan_out',
                nonlinearity='relu',
                distribution='normal')
        super().__init__(init_cfg)
        if len(in_channels) < 2:
            raise ConfigInputError(f'CenterNetDLANeck needs at least two levels, got '
                                   f'in_channels={list(in_channels)}')
        self.in_channels = tuple(in_channels)
        layer_cfg = dict(use_dcn=use_dcn, norm_cfg=norm_cfg, dcn_impl=dcn_impl)
        self.dla_up = nn.Module()
        for i, (out_channels, step_in, factors) in enumerate(dla_up_steps(in_channels)):
            self.dla_up.add_module(f'ida_{i}',
                                   AdditiveIDAUp(out_channels, step_in, factors, **layer_cfg))
        # the final IDA-Up over the aggregates of all levels but the deepest
        self.ida_up = AdditiveIDAUp(in_channels[0], in_channels[:-1],
                                    [2**i for i in range(len(in_channels) - 1)], **layer_cfg)

    def init_weights(self):
        super().init_weights()
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):  # bilinear by design
                fill_bilinear_(m)
            elif hasattr(m, 'conv_offset'):  # mmcv's DCN init (offsets start at zero)
                m.init_weights()

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple:
        found = [x.shape[1] for x in inputs]
        if tuple(found[-len(self.in_channels):]) != self.in_channels:
            raise ConfigInputError(
                f'CenterNetDLANeck in_channels {list(self.in_channels)} do not fit the '
                f'backbone outputs (channels {found}): set backbone out_indices=(2, 3, 4, 5) '
                'or neck.in_channels to match')
        layers = [x.contiguous() for x in inputs[-len(self.in_channels):]]
        # NOTE: mmcv's DCN kernels are NCHW (im2col); the neck runs in NCHW.
        aggregates = [layers[-1]]  # CenterNet's DLAUp: the deepest level, then each step's
        for i in range(len(layers) - 1):
            ys = getattr(self.dla_up, f'ida_{i}')(layers[-i - 2:])
            layers[-i - 1:] = ys[1:]
            aggregates.insert(0, layers[-1])
        return (self.ida_up(aggregates[:-1])[-1], )
