"""DLA-Up: the iterative deep aggregation decoder of DLA for semantic segmentation.

Mirrors the official ``dla_up.py`` (ucbdrive/dla) with the official module names, so
official ``DLASeg`` checkpoints convert one to one (``dla_up.*`` -> ``decode_head.dla_up.*``,
``fc.0`` -> ``decode_head.conv_seg``, ``up`` -> ``decode_head.up``):

* :class:`IDAUp` merges a list of feature maps into the resolution of the first one: each
  input is projected (1x1 conv-BN-ReLU, identity when the channels already match) and
  up-sampled by a learned depthwise transposed conv initialised to bilinear (identity for
  factor 1); aggregation nodes (3x3 conv-BN-ReLU on the concatenation) then fold them in
  from shallow to deep.
* :class:`DLAUp` applies IDA-Up iteratively from the deepest pair of levels down to the
  first (shallowest) one, each step refining all deeper aggregates.
* :class:`DLAUpHead` (mmseg decode head) adds the 1x1 classifier (``conv_seg``) and the
  frozen bilinear x``down_ratio`` up-sampling back to input size.

The official code only works for inputs divisible by 32. Here every up-sampled map is
cropped (bottom/right) to the size of the map it is merged with, and the final logits to
the input size, so any input >= 32x32 works; for multiples of 32 nothing is cropped and
the numbers are the official ones.
"""
import math
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.utils import SampleList

from mmdla.errors import ConfigInputError
from mmdla.models.layers import bilinear_upsampling, crop_to, dla_up_steps, fill_bilinear_
from mmdla.models.layout import apply_memory_format, memory_format_of
from mmdla.registry import MODELS
from mmdla.utils.labels import check_labels


def top1_accuracy(logits: torch.Tensor, label: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Percentage of non-ignored pixels whose argmax class is the label: mmseg's
    ``accuracy(logits, label, topk=1)`` computed by an argmax instead of mmseg's ``topk``
    (which sorts along the channels). (N, C, H, W), (N, H, W) -> (1, )."""
    valid = label != ignore_index
    correct = (logits.argmax(1) == label) & valid
    eps = torch.finfo(torch.float32).eps  # as mmseg: 100 when every pixel is ignored
    return ((correct.sum() + eps) * (100.0 / (valid.sum() + eps))).reshape(1).float()


class IDAUp(nn.Module):
    """One iterative deep aggregation step (see module docstring).

    Args:
        node_kernel: kernel of the aggregation nodes (3).
        out_channels: channels of every projected input and of the output.
        in_channels: channels of the inputs, shallowest first.
        up_factors: up-sampling factor of each input to the first input's resolution.
        conv_cfg / norm_cfg / act_cfg: layers of the projections and nodes.

    ``forward(layers)`` -> ``(x, ys)``: ``x`` the last node's output and ``ys`` the outputs
    of nodes 1..n-1, each (N, out_channels, H0, W0) with (H0, W0) the first input's size.
    """

    def __init__(self,
                 node_kernel: int,
                 out_channels: int,
                 in_channels: Sequence[int],
                 up_factors: Sequence[int],
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 with_cp: bool = False):
        super().__init__()
        self.with_cp = with_cp
        layer_cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.num_inputs = len(in_channels)
        for i, (c, f) in enumerate(zip(in_channels, up_factors)):
            proj = (
                nn.Identity()
                if c == out_channels else _ConvBNReLU(c, out_channels, 1, **layer_cfg))
            up = nn.Identity() if f == 1 else bilinear_upsampling(out_channels, int(f))
            setattr(self, f'proj_{i}', proj)
            setattr(self, f'up_{i}', up)
        for i in range(1, self.num_inputs):
            setattr(self, f'node_{i}',
                    _ConvBNReLU(2 * out_channels, out_channels, node_kernel, **layer_cfg))

    def forward(self, layers: Sequence[torch.Tensor]):
        if len(layers) != self.num_inputs:
            raise ValueError(f'IDAUp expects {self.num_inputs} inputs, got {len(layers)}')
        size = layers[0].shape[-2:]
        x = getattr(self, 'proj_0')(layers[0])  # up_0 is the identity (factor 1)
        ys = []
        for i in range(1, self.num_inputs):
            if self.with_cp and x.requires_grad:
                x = cp.checkpoint(self._step, i, x, layers[i], size, use_reentrant=False)
            else:
                x = self._step(i, x, layers[i], size)
            ys.append(x)
        return x, ys

    def _step(self, i: int, x: torch.Tensor, layer: torch.Tensor, size) -> torch.Tensor:
        """Project and up-sample input ``i``, then aggregate it into ``x`` (node ``i``)."""
        layer = getattr(self, f'up_{i}')(getattr(self, f'proj_{i}')(layer))
        return getattr(self, f'node_{i}').forward_concat(x, crop_to(layer, size))


class _ConvBNReLU(nn.Sequential):
    """conv(no bias)-norm-act as an ``nn.Sequential`` named ``0``, ``1``, ``2`` like the
    official ``nn.Sequential(Conv2d, BatchNorm2d, ReLU)``."""

    def __init__(self,
                 in_channels,
                 out_channels,
                 kernel_size,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU')):
        module = ConvModule(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            bias=False,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        super().__init__(module.conv, module.norm, module.activate)

    def forward_concat(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``self(torch.cat([a, b], 1))`` without the concatenation: the conv of a
        concatenation is the sum of the convs of its parts with the matching input channels
        of the weight.

        # NOTE: the official node concatenates; at stride 2 (1024x2048 input) the
        # concatenation is a 2 x 32 channel copy that training also keeps for the backward.
        # The sum saves that memory (-15 % peak in a 512x1024 training step) and time.
        """
        conv = self[0]
        if type(conv) is not nn.Conv2d or conv.groups != 1:  # e.g. a deformable conv_cfg
            return self(torch.cat([a, b], 1))
        split = a.shape[1]
        out = conv._conv_forward(a, conv.weight[:, :split], conv.bias)
        out = out.add_(conv._conv_forward(b, conv.weight[:, split:], None))
        return self[2](self[1](out))


class DLAUp(nn.Module):
    """Iterative IDA-Up over levels given shallowest first, e.g. channels (32, ..., 512)
    at strides (2, ..., 32). Output: (N, channels[0], H0, W0) at the first level's size."""

    def __init__(self, channels: Sequence[int], node_kernel: int = 3, **layer_cfg):
        """``layer_cfg``: conv_cfg / norm_cfg / act_cfg / with_cp of the IDA-Up steps."""
        super().__init__()
        for i, (out_channels, in_channels, factors) in enumerate(dla_up_steps(channels)):
            setattr(self, f'ida_{i}',
                    IDAUp(node_kernel, out_channels, in_channels, factors, **layer_cfg))
        self.num_levels = len(channels)

    def forward(self, layers: Sequence[torch.Tensor]) -> torch.Tensor:
        layers = list(layers)
        for i in range(self.num_levels - 1):
            x, ys = getattr(self, f'ida_{i}')(layers[-i - 2:])
            layers[-i - 1:] = ys
        return x


@MODELS.register_module(libraries=('mmseg', ))
class DLAUpHead(BaseDecodeHead):
    """DLA-Up decode head (mmseg): DLAUp + 1x1 classifier + frozen bilinear up-sampling.

    Args:
        in_channels (Sequence[int]): channels of the backbone levels from stride
            ``down_ratio`` to stride 32, e.g. ``[32, 64, 128, 256, 512]`` for DLA-34 and
            ``down_ratio=2``.
        down_ratio (int): 2, 4, 8 or 16: stride of the finest level DLA-Up aggregates to;
            the logits are then up-sampled x``down_ratio`` (bilinear, frozen, as official).
        in_index (Sequence[int] | None): indices of those levels in the backbone outputs;
            default the last ``len(in_channels)`` outputs.
        channels (int | None): must equal ``in_channels[0]`` (DLA-Up's output channels);
            default that value.
        node_kernel (int): kernel size of the aggregation nodes (3).
        with_cp (bool): activation checkpointing of every IDA-Up step (projection,
            up-sampling, node): with the backbone's ``with_cp`` it saves the activation
            memory of the high-resolution decoder too, at some extra compute.
        memory_format (str): 'channels_last' (default, the fast layout) or 'contiguous';
            weights are stored and inputs converted to it. Same numbers.
        **kwargs: :class:`BaseDecodeHead` arguments (``num_classes``, ``norm_cfg``,
            ``loss_decode``, ``dropout_ratio`` - default 0 - and ``norm_cfg`` - default BN -
            as in the official model ...).

    ``forward(inputs)`` returns logits of shape (N, num_classes, down_ratio * h, down_ratio
    * w), (h, w) the size of the finest level; ``loss_by_feat`` / ``predict_by_feat`` crop
    them to the label / image size (nothing to crop for sizes divisible by 32).

    Example:
        >>> import torch
        >>> from mmdla.models import DLA, DLAUpHead
        >>> backbone = DLA('dla34', out_indices=(1, 2, 3, 4, 5)).eval()
        >>> head = DLAUpHead(in_channels=[32, 64, 128, 256, 512], down_ratio=2,
        ...                  num_classes=19).eval()
        >>> tuple(head(list(backbone(torch.rand(1, 3, 64, 128)))).shape)
        (1, 19, 64, 128)
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 down_ratio: int = 2,
                 in_index=None,
                 channels=None,
                 node_kernel: int = 3,
                 with_cp: bool = False,
                 memory_format: str = 'channels_last',
                 dropout_ratio: float = 0.0,
                 init_cfg=dict(
                     type='Kaiming',
                     layer='Conv2d',
                     mode='fan_out',
                     nonlinearity='relu',
                     distribution='normal'),
                 **kwargs):
        if down_ratio not in (2, 4, 8, 16):
            raise ConfigInputError(f'down_ratio must be 2, 4, 8 or 16, got {down_ratio!r}')
        num_levels = 6 - int(math.log2(down_ratio))
        if len(in_channels) != num_levels:
            raise ConfigInputError(
                f'DLAUpHead with down_ratio={down_ratio} aggregates the {num_levels} levels of '
                f'strides {down_ratio}..32, so in_channels needs {num_levels} entries; got '
                f'{list(in_channels)}')
        in_index = list(range(-num_levels, 0)) if in_index is None else list(in_index)
        if channels is None:
            channels = in_channels[0]
        if channels != in_channels[0]:
            raise ConfigInputError(
                f'channels ({channels}) must equal in_channels[0] '
                f'({in_channels[0]}): DLA-Up outputs the finest level\'s channels')
        kwargs.setdefault('input_transform', 'multiple_select')
        kwargs.setdefault('norm_cfg', dict(type='BN', requires_grad=True))  # as official
        super().__init__(
            list(in_channels),
            channels,
            in_index=in_index,
            dropout_ratio=dropout_ratio,
            init_cfg=init_cfg,
            **kwargs)
        self.down_ratio = down_ratio
        self.dla_up = DLAUp(
            in_channels,
            node_kernel,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            with_cp=with_cp)
        self.up = bilinear_upsampling(self.out_channels, down_ratio)
        self.up.weight.requires_grad = False  # frozen, as in the official DLASeg
        self.memory_format = memory_format_of(memory_format)
        apply_memory_format(self, self.memory_format)

    def init_weights(self):
        super().init_weights()
        # The up-sampling layers are bilinear by design, whatever init_cfg says.
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):
                fill_bilinear_(m)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        x = self.dla_up(self._select_inputs(inputs))
        return self.up(self.cls_seg(x))

    def _select_inputs(self, inputs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """The backbone outputs at ``in_index``, checked against ``in_channels``."""
        found = [x.shape[1] for x in inputs]
        fix = (f'the backbone gives {len(found)} outputs with channels {found}; set '
               'decode_head.in_index / in_channels to match the backbone\'s out_indices')
        if not all(-len(found) <= i < len(found) for i in self.in_index):
            raise ConfigInputError(f'DLAUpHead in_index {self.in_index} is out of range: ' + fix)
        selected = self._transform_inputs(inputs)
        if [x.shape[1] for x in selected] != list(self.in_channels):
            raise ConfigInputError(f'DLAUpHead in_channels {list(self.in_channels)} do not '
                                   f'fit the outputs at in_index {self.in_index}: ' + fix)
        return [x.contiguous(memory_format=self.memory_format) for x in selected]

    def loss_by_feat(self, seg_logits: torch.Tensor, batch_data_samples: SampleList) -> dict:
        """mmseg's ``BaseDecodeHead.loss_by_feat`` (losses of ``loss_decode``, ``acc_seg``)
        with the logits cropped to the label size instead of bilinearly resized to it: for
        DLA-Up's logits that resize is an identity that costs a copy and its backward
        (twice the logits' memory). ``acc_seg`` is mmseg's top-1 accuracy, by argmax."""
        seg_label = self._stack_batch_gt(batch_data_samples)
        for label in seg_label:  # the loss would fail deep in the kernel (or on GPU, assert)
            check_labels(
                label, self.num_classes, self.ignore_index, 'a label map of the batch',
                'decode_head.num_classes does not fit the data; fix num_classes or '
                'convert the labels')
        seg_logits = crop_to(seg_logits, seg_label.shape[2:])
        seg_weight = None if self.sampler is None else self.sampler.sample(seg_logits, seg_label)
        seg_label = seg_label.squeeze(1)
        losses = {}
        decoders = (
            self.loss_decode if isinstance(self.loss_decode, nn.ModuleList) else [self.loss_decode])
        for loss_decode in decoders:
            value = loss_decode(
                seg_logits, seg_label, weight=seg_weight, ignore_index=self.ignore_index)
            name = loss_decode.loss_name
            losses[name] = losses[name] + value if name in losses else value
        losses['acc_seg'] = top1_accuracy(seg_logits.detach(), seg_label, self.ignore_index)
        return losses

    def predict_by_feat(self, seg_logits: torch.Tensor, batch_img_metas: List[dict]):
        """The logits at the size mmseg's ``BaseDecodeHead.predict_by_feat`` resizes them to
        (the padded batch size when the data preprocessor padded). DLA-Up's logits are at
        least that size, so cropping gives them; the bilinear resize mmseg would then run is
        an identity that costs a copy of the logits (160 MiB at 1024x2048) - skipped."""
        meta = batch_img_metas[0]
        if isinstance(meta['img_shape'], torch.Size) or 'pad_shape' not in meta:
            size = meta['img_shape']
        else:
            size = meta['pad_shape']
        return crop_to(seg_logits, size[:2])
