"""Conversion of official (ucbdrive/dla) and timm DLA checkpoints to mmdla / MMEngine.

Classification (:func:`convert_dla_classifier`) and segmentation
(:func:`convert_dla_segmentor`, official ``dla*up`` = ``DLASeg`` checkpoints).

Both sources use the same tensor names as :class:`mmdla.models.DLA`; the official files
additionally hold the never-used ``project`` tensors of trees of depth > 1 (see the
backbone's module docstring). The source format and the arch are detected from the
tensors themselves: every arch has a distinct set of (name, shape) pairs.

The result is an MMEngine checkpoint for an mmpretrain ``ImageClassifier`` (DLA +
GlobalAveragePooling + LinearClsHead): ``backbone.*`` and ``head.fc.{weight,bias}``, the
official 1x1-conv classifier becoming a linear layer. mmseg backbones load the same file
with ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
"""
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Mapping

import torch

from mmdla.errors import CheckpointMismatchError
from mmdla.utils.state_dict import Mismatch, summarise
from .backbones.dla import DLA, arch_signature, detect_arch


@dataclass
class ConversionResult:
    state_dict: 'OrderedDict[str, torch.Tensor]'
    arch: str
    source_format: str  # 'official' or 'timm'
    num_classes: int
    dropped: List[str] = field(default_factory=list)
    task: str = 'classification'  # or 'segmentation'
    down_ratio: int = 0  # segmentation only


def unwrap_state_dict(checkpoint: Mapping) -> Dict[str, torch.Tensor]:
    """The tensor dict of a plain state dict or one wrapped in 'state_dict' / 'model';
    a DataParallel ``module.`` prefix is removed."""
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(
            f'expected a state dict (a mapping of names to tensors), got '
            f'{type(checkpoint).__name__}')
    for wrapper in ('state_dict', 'model'):
        if wrapper in checkpoint and isinstance(checkpoint[wrapper], Mapping):
            checkpoint = checkpoint[wrapper]
            break
    state_dict = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if state_dict and all(k.startswith('module.') for k in state_dict):
        state_dict = {k[len('module.'):]: v for k, v in state_dict.items()}
    return state_dict


def convert_dla_classifier(checkpoint: Mapping) -> ConversionResult:
    """Convert an official or timm DLA ImageNet checkpoint (see module docstring)."""
    state_dict = unwrap_state_dict(checkpoint)
    fc = {k: v for k, v in state_dict.items() if k.startswith('fc.')}
    backbone = {k: v for k, v in state_dict.items() if not k.startswith('fc.')}
    arch, source_format = detect_arch(backbone)
    _, dead = arch_signature(arch)
    channels = DLA.arch_settings[arch]['channels'][-1]
    if set(fc) != {'fc.weight', 'fc.bias'}:
        raise CheckpointMismatchError(
            f'{arch} checkpoint: expected classifier tensors fc.weight and fc.bias, found '
            f'{summarise(fc) or "none"}')
    weight = fc['fc.weight']
    if weight.dim() == 4:
        weight = weight.flatten(1)  # official 1x1 conv -> linear
    if weight.dim() != 2 or weight.shape[1] != channels:
        raise CheckpointMismatchError(
            f'{arch} checkpoint: fc.weight has shape {tuple(fc["fc.weight"].shape)}, '
            f'expected (num_classes, {channels}[, 1, 1])')
    out = OrderedDict((f'backbone.{k}', v) for k, v in backbone.items() if k not in dead)
    out['head.fc.weight'] = weight.contiguous()
    out['head.fc.bias'] = fc['fc.bias']
    return ConversionResult(out, arch, source_format, weight.shape[0],
                            sorted(k for k in backbone if k in dead))


def is_segmentation_checkpoint(state_dict: Mapping) -> bool:
    """Official DLASeg checkpoints hold ``base.*`` (backbone) and ``dla_up.*`` tensors."""
    return any(k.startswith('base.') for k in state_dict) and any(
        k.startswith('dla_up.') for k in state_dict)


def _head_signature(arch: str, down_ratio: int, num_classes: int) -> Dict[str, tuple]:
    from .decode_heads import DLAUpHead
    channels = DLA.arch_settings[arch]['channels']
    first_level = int(math.log2(down_ratio))
    with torch.device('meta'):
        head = DLAUpHead(in_channels=channels[first_level:], down_ratio=down_ratio,
                         num_classes=num_classes, init_cfg=None)
    return {k: tuple(v.shape) for k, v in head.state_dict().items()}


def convert_dla_segmentor(checkpoint: Mapping) -> ConversionResult:
    """Convert an official DLASeg (``dla34up`` ...) checkpoint to an mmseg EncoderDecoder
    with DLA + DLAUpHead: ``base.*`` -> ``backbone.*`` (minus the unused ``base.fc`` and the
    dead ``project`` tensors), ``dla_up.*`` -> ``decode_head.dla_up.*``, ``fc.0.*`` ->
    ``decode_head.conv_seg.*``, ``up.weight`` -> ``decode_head.up.weight``."""
    state_dict = unwrap_state_dict(checkpoint)
    if not is_segmentation_checkpoint(state_dict):
        raise CheckpointMismatchError(
            'not a DLA segmentation (DLASeg) checkpoint: no base.* and dla_up.* tensors')
    base = {k[len('base.'):]: v for k, v in state_dict.items()
            if k.startswith('base.') and not k.startswith('base.fc.')}
    arch, source_format = detect_arch(base)
    _, dead = arch_signature(arch)
    if 'fc.0.weight' not in state_dict:
        raise CheckpointMismatchError('DLASeg checkpoint without its classifier fc.0.weight')
    num_classes = state_dict['fc.0.weight'].shape[0]
    num_idas = len({k.split('.')[1] for k in state_dict if k.startswith('dla_up.ida_')})
    down_ratio = 2**(5 - num_idas)  # DLA-Up has one IDA step per level above the first
    if down_ratio not in (2, 4, 8, 16):
        raise CheckpointMismatchError(f'DLASeg checkpoint with {num_idas} IDA-Up steps; '
                                      'expected 4 (down_ratio 2) down to 1 (down_ratio 16)')
    head = {}
    for k, v in state_dict.items():
        if k.startswith('dla_up.'):
            head[k] = v
        elif k.startswith('fc.0.'):
            head['conv_seg.' + k[len('fc.0.'):]] = v
        elif k == 'up.weight':
            head[k] = v
    mismatch = Mismatch.between(head, _head_signature(arch, down_ratio, num_classes))
    mismatch.unexpected |= {
        k for k in state_dict if not k.startswith(('base.', 'dla_up.', 'fc.0.', 'up.'))}
    if mismatch:
        raise CheckpointMismatchError(
            f'{arch} DLA-Up (down_ratio {down_ratio}) checkpoint does not match: '
            + mismatch.describe())
    out = OrderedDict((f'backbone.{k}', v) for k, v in base.items() if k not in dead)
    out.update((f'decode_head.{k}', v) for k, v in head.items())
    return ConversionResult(out, arch, source_format, num_classes,
                            sorted(f'base.{k}' for k in base if k in dead)
                            + sorted(k for k in state_dict if k.startswith('base.fc.')),
                            task='segmentation', down_ratio=down_ratio)


def convert_dla_checkpoint(checkpoint: Mapping) -> ConversionResult:
    """Convert any supported DLA checkpoint: DLASeg (segmentation) or ImageNet classifier."""
    if is_segmentation_checkpoint(unwrap_state_dict(checkpoint)):
        return convert_dla_segmentor(checkpoint)
    return convert_dla_classifier(checkpoint)
