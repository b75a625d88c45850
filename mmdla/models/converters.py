"""Conversion of official (ucbdrive/dla) and timm DLA checkpoints to mmdla / MMEngine.

Classification (:func:`convert_dla_classifier`), segmentation
(:func:`convert_dla_segmentor`, official ``dla*up`` = ``DLASeg`` checkpoints) and detection
(:func:`convert_centernet`, CenterNet's ctdet ``pose_dla_dcn`` checkpoints).

Both sources use the same tensor names as :class:`mmdla.models.DLA`; the official files
additionally hold the never-used ``project`` tensors of trees of depth > 1 (see the
backbone's module docstring). The source format and the arch are detected from the
tensors themselves: every arch has a distinct set of (name, shape) pairs. The converted
state dict lists the tensors in the model's own order whatever the order of the source
(safetensors files list theirs alphabetically), so the same tensors give the same file.

Converted checkpoints also carry ``meta['dataset_meta']`` (class names, palette) of the
dataset the weights were trained on (:func:`choose_dataset`, :func:`dataset_metainfo`):
mmdla's ``init_model``, mmseg's ``MMSegInferencer`` / ``init_model`` and mmpretrain's
inferencers and ``get_model`` read them from there.

The result is an MMEngine checkpoint for an mmpretrain ``ImageClassifier`` (DLA +
GlobalAveragePooling + LinearClsHead): ``backbone.*`` and ``head.fc.{weight,bias}``, the
official 1x1-conv classifier becoming a linear layer. mmseg backbones load the same file
with ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
"""
import importlib
import math
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

import torch

from mmdla.errors import CheckpointMismatchError, ConfigInputError, MissingPackageError
from mmdla.libraries import LIBRARIES
from mmdla.reference import FINE_GRAINED_CLASSES
from mmdla.utils.state_dict import Mismatch, summarise, unwrap_state_dict
from .backbones.dla import parse_arch
from .checkpoints import arch_signature, detect_arch


@dataclass
class ConversionResult:
    state_dict: 'OrderedDict[str, torch.Tensor]'
    arch: str
    source_format: str  # 'official' or 'timm'
    num_classes: int
    dropped: List[str] = field(default_factory=list)
    task: str = 'classification'  # or 'segmentation' / 'detection' / 'mono3d'
    down_ratio: int = 0  # segmentation only
    extra: dict = field(default_factory=dict)  # detection: head_conv, use_dcn; mono3d: norm


def convert_dla_classifier(checkpoint: Mapping) -> ConversionResult:
    """Convert an official or timm DLA ImageNet checkpoint (see module docstring)."""
    state_dict = unwrap_state_dict(checkpoint)
    fc = {k: v for k, v in state_dict.items() if k.startswith('fc.')}
    backbone = {k: v for k, v in state_dict.items() if not k.startswith('fc.')}
    arch, source_format = detect_arch(backbone)
    _, dead = arch_signature(arch)
    channels = parse_arch(arch)['channels'][-1]
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
    out = OrderedDict((f'backbone.{k}', backbone[k]) for k in arch_signature(arch)[0])
    out['head.fc.weight'] = weight.contiguous()
    out['head.fc.bias'] = fc['fc.bias']
    return ConversionResult(out, arch, source_format, weight.shape[0],
                            sorted(k for k in backbone if k in dead))


def is_segmentation_checkpoint(state_dict: Mapping) -> bool:
    """Official DLASeg checkpoints hold ``base.*`` (backbone) and ``dla_up.*`` tensors."""
    return any(k.startswith('base.')
               for k in state_dict) and any(k.startswith('dla_up.') for k in state_dict)


def _head_signature(arch: str, down_ratio: int, num_classes: int) -> Dict[str, tuple]:
    from .decode_heads import DLAUpHead
    channels = parse_arch(arch)['channels']
    first_level = int(math.log2(down_ratio))
    with torch.device('meta'):
        head = DLAUpHead(
            in_channels=channels[first_level:],
            down_ratio=down_ratio,
            num_classes=num_classes,
            init_cfg=None)
    return {k: tuple(v.shape) for k, v in head.state_dict().items()}


def _official_backbone(state_dict: Mapping) -> tuple:
    """The backbone of an official DLASeg / CenterNet checkpoint (``base.*``): its tensors
    as ``backbone.*`` in the model's order, its arch and source format, and the names of
    the tensors the conversion drops (the dead ``project`` tensors and the unused
    classifier ``base.fc``)."""
    base = {
        k[len('base.'):]: v
        for k, v in state_dict.items() if k.startswith('base.') and not k.startswith('base.fc.')
    }
    arch, source_format = detect_arch(base)
    names, dead = arch_signature(arch)
    backbone = OrderedDict((f'backbone.{k}', base[k]) for k in names)
    dropped = (
        sorted(f'base.{k}' for k in base if k in dead) +
        sorted(k for k in state_dict if k.startswith('base.fc.')))
    return backbone, arch, source_format, dropped


def convert_dla_segmentor(checkpoint: Mapping) -> ConversionResult:
    """Convert an official DLASeg (``dla34up`` ...) checkpoint to an mmseg EncoderDecoder
    with DLA + DLAUpHead: ``base.*`` -> ``backbone.*`` (minus the unused ``base.fc`` and the
    dead ``project`` tensors), ``dla_up.*`` -> ``decode_head.dla_up.*``, ``fc.0.*`` ->
    ``decode_head.conv_seg.*``, ``up.weight`` -> ``decode_head.up.weight``."""
    state_dict = unwrap_state_dict(checkpoint)
    if not is_segmentation_checkpoint(state_dict):
        raise CheckpointMismatchError(
            'not a DLA segmentation (DLASeg) checkpoint: no base.* and dla_up.* tensors')
    backbone, arch, source_format, dropped = _official_backbone(state_dict)
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
        k
        for k in state_dict if not k.startswith(('base.', 'dla_up.', 'fc.0.', 'up.'))
    }
    if mismatch:
        raise CheckpointMismatchError(
            f'{arch} DLA-Up (down_ratio {down_ratio}) checkpoint does not match: ' +
            mismatch.describe())
    out = OrderedDict(backbone)
    out.update(
        (f'decode_head.{k}', head[k]) for k in _head_signature(arch, down_ratio, num_classes))
    return ConversionResult(
        out, arch, source_format, num_classes, dropped, task='segmentation', down_ratio=down_ratio)


def is_centernet_checkpoint(state_dict: Mapping) -> bool:
    """CenterNet ctdet checkpoints hold ``base.*``, ``dla_up.*``, ``ida_up.*`` and ``hm.*``."""
    return (is_segmentation_checkpoint(state_dict)
            and any(k.startswith('ida_up.') for k in state_dict)
            and any(k.startswith('hm.') for k in state_dict))


#: CenterNet head -> mmdet ``CenterNetHead`` branch
CENTERNET_HEADS = {'hm': 'heatmap_head', 'wh': 'wh_head', 'reg': 'offset_head'}

#: mmdla tensor-name prefix -> the official checkpoint's (DLASeg, CenterNet ctdet), for
#: :func:`to_official_names`; the first matching prefix applies
OFFICIAL_PREFIXES = (
    ('backbone.', 'base.'),
    ('decode_head.conv_seg.', 'fc.0.'),
    ('decode_head.', ''),
    ('neck.', ''),
) + tuple((f'bbox_head.{branch}.', f'{name}.') for name, branch in CENTERNET_HEADS.items())


def classifier_to_official(state_dict: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    """An mmdla DLA ImageClassifier's tensors in the official / timm classifier layout: the
    inverse of :func:`convert_dla_classifier` (``backbone.*`` -> ``*``, the linear
    ``head.fc`` -> the 1x1-conv ``fc``)."""
    out = OrderedDict(
        (k[len('backbone.'):], v) for k, v in state_dict.items() if k.startswith('backbone.'))
    out['fc.weight'] = state_dict['head.fc.weight'].detach()[:, :, None, None]
    out['fc.bias'] = state_dict['head.fc.bias'].detach()
    return out


def to_official_names(state_dict: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    """The tensors of an mmdla segmentor (DLA + DLAUpHead) or CenterNet state dict under the
    official DLASeg / CenterNet names: the inverse of :func:`convert_dla_segmentor` and
    :func:`convert_centernet` (which drop the dead ``project`` and ``base.fc`` tensors the
    official files also hold), ``conv_offset`` -> ``conv_offset_mask``."""
    out = OrderedDict()
    for name, tensor in state_dict.items():
        for ours, official in OFFICIAL_PREFIXES:
            if name.startswith(ours):
                name = official + name[len(ours):]
                break
        out[name.replace('.conv_offset.', '.conv_offset_mask.')] = tensor
    return out


def _neck_signature(arch: str, use_dcn: bool, norm_cfg: dict = dict(type='BN')) -> Dict[str, tuple]:
    from .necks import CenterNetDLANeck
    with torch.device('meta'):
        neck = CenterNetDLANeck(
            parse_arch(arch)['channels'][2:], use_dcn=use_dcn, norm_cfg=norm_cfg)
    return {k: tuple(v.shape) for k, v in neck.state_dict().items()}


def convert_centernet(checkpoint: Mapping) -> ConversionResult:
    """Convert a CenterNet ctdet DLA checkpoint (``{'epoch', 'state_dict'}``, keys ``base.*``,
    ``dla_up.*``, ``ida_up.*``, ``hm.*``, ``wh.*``, ``reg.*``) to an mmdet ``CenterNet`` with
    DLA + :class:`~mmdla.models.CenterNetDLANeck` + ``CenterNetHead``: ``base`` ->
    ``backbone`` (minus the dead ``project`` tensors), ``dla_up`` / ``ida_up`` -> ``neck.*``
    (``conv_offset_mask`` -> ``conv_offset``), ``hm`` / ``wh`` / ``reg`` ->
    ``bbox_head.{heatmap,wh,offset}_head``."""
    state_dict = unwrap_state_dict(checkpoint)
    if not is_centernet_checkpoint(state_dict):
        raise CheckpointMismatchError('not a CenterNet DLA checkpoint: no base.*, dla_up.*, '
                                      'ida_up.* and hm.* tensors')
    backbone, arch, source_format, dropped = _official_backbone(state_dict)
    use_dcn = any('conv_offset_mask' in k for k in state_dict)
    neck = {
        k.replace('conv_offset_mask', 'conv_offset'): v
        for k, v in state_dict.items() if k.startswith(('dla_up.', 'ida_up.'))
    }
    if 'hm.2.weight' not in state_dict or 'hm.0.weight' not in state_dict:
        raise CheckpointMismatchError(
            'CenterNet checkpoint without the hm.0 / hm.2 tensors of a head_conv > 0 heatmap '
            f'head (found {summarise(state_dict)})')
    num_classes = state_dict['hm.2.weight'].shape[0]
    head_conv = state_dict['hm.0.weight'].shape[0]
    in_channels = parse_arch(arch)['channels'][2]
    heads, expected = {}, {}
    for name, branch in CENTERNET_HEADS.items():
        out = num_classes if name == 'hm' else 2
        expected.update({
            f'{branch}.0.weight': (head_conv, in_channels, 3, 3),
            f'{branch}.0.bias': (head_conv, ),
            f'{branch}.2.weight': (out, head_conv, 1, 1),
            f'{branch}.2.bias': (out, )
        })
        heads.update({
            f'{branch}.{k[len(name) + 1:]}': v
            for k, v in state_dict.items() if k.startswith(f'{name}.')
        })
    signature = {**_neck_signature(arch, use_dcn), **expected}
    mismatch = Mismatch.between({**neck, **heads}, signature)
    mismatch.unexpected |= {
        k
        for k in state_dict
        if not k.startswith(('base.', 'dla_up.', 'ida_up.') + tuple(f'{name}.'
                                                                    for name in CENTERNET_HEADS))
    }
    if mismatch:
        raise CheckpointMismatchError(
            f'{arch} CenterNet checkpoint does not match CenterNetDLANeck(use_dcn={use_dcn}) + '
            f'CenterNetHead: ' + mismatch.describe())
    out = OrderedDict(backbone)
    out.update(
        (f'neck.{k}', neck[k]) if k in neck else (f'bbox_head.{k}', heads[k]) for k in signature)
    return ConversionResult(
        out,
        arch,
        source_format,
        num_classes,
        dropped,
        task='detection',
        extra=dict(head_conv=head_conv, use_dcn=use_dcn))


def is_smoke_checkpoint(state_dict: Mapping) -> bool:
    """MMDetection3D SMOKE checkpoints hold its ``DLANet`` (``backbone.*`` with ``norm1``
    layers), its ``DLANeck`` (``neck.dla_up.*``) and ``bbox_head.conv_cls.*``."""
    return ('backbone.level2.tree1.norm1.weight' in state_dict
            and any(k.startswith('neck.dla_up.') for k in state_dict)
            and 'bbox_head.conv_cls.weight' in state_dict)


#: prefix -> (pattern, replacement)s from mmdet3d's DLANet / DLANeck names to mmdla's: the
#: norm layers of the blocks and roots; the neck's ModuleLists (mmdet3d 1.x; 0.x named them
#: proj_1 ... as CenterNet and mmdla) and the ConvModule norm ('gn' / 'bn') of its
#: projections and nodes
MMDET3D_RENAMES = {
    'backbone.':
    ((re.compile(r'\.norm([12])\.'), r'.bn\1.'), (re.compile(r'\.root\.norm\.'), '.root.bn.')),
    'neck.': ((re.compile(r'\.(proj|up|node)s\.(\d+)\.'), lambda m: f'.{m[1]}_{int(m[2]) + 1}.'),
              (re.compile(r'\.(gn|bn)\.'), '.actf.0.')),
}


def _smoke_signature(arch: str, norm_cfg: dict, use_dcn: bool) -> Dict[str, tuple]:
    """The backbone + neck tensors of an mmdla SMOKE model (``backbone.*``, ``neck.*``)."""
    from .backbones import DLA
    with torch.device('meta'):
        backbone = DLA(arch, out_indices=(2, 3, 4, 5), norm_cfg=norm_cfg, init_cfg=None)
    signature = {f'backbone.{k}': tuple(v.shape) for k, v in backbone.state_dict().items()}
    signature.update((f'neck.{k}', v) for k, v in _neck_signature(arch, use_dcn, norm_cfg).items())
    return signature


def convert_smoke(checkpoint: Mapping) -> ConversionResult:
    """Convert an MMDetection3D SMOKE checkpoint (``smoke_dla34_*_kitti-mono3d``: its
    ``DLANet`` depth 34 + ``DLANeck``, GroupNorm) to mmdla's SMOKE config (DLA +
    :class:`~mmdla.models.CenterNetDLANeck` + mmdet3d's ``SMOKEMono3DHead``): the renames of
    :data:`MMDET3D_RENAMES`, the dead ``project`` tensors of trees of depth > 1 dropped, the
    head as it is."""
    state_dict = unwrap_state_dict(checkpoint)
    if not is_smoke_checkpoint(state_dict):
        raise CheckpointMismatchError('not an mmdet3d SMOKE checkpoint: no backbone.*.norm1, '
                                      'neck.dla_up.* and bbox_head.conv_cls tensors')
    renamed = OrderedDict()
    for name, tensor in state_dict.items():
        for pattern, replacement in MMDET3D_RENAMES.get(name.partition('.')[0] + '.', ()):
            name = pattern.sub(replacement, name)
        renamed[name] = tensor
    arch = 'dla34'  # NOTE: mmdet3d's DLANet has depth 34 only
    norm = 'BN' if 'backbone.base_layer.1.running_mean' in renamed else 'GN'
    norm_cfg = dict(type='GN', num_groups=32) if norm == 'GN' else dict(type='BN')
    use_dcn = any('.conv_offset.' in k for k in renamed)
    dead = {f'backbone.{k}' for k in arch_signature(arch)[1]}
    dropped = sorted(k for k in renamed if k in dead)
    signature = _smoke_signature(arch, norm_cfg, use_dcn)
    ours = {k: v for k, v in renamed.items() if k.startswith(('backbone.', 'neck.'))}
    mismatch = Mismatch.between({k: v for k, v in ours.items() if k not in dead}, signature)
    mismatch.unexpected |= {
        k
        for k in renamed if not k.startswith(('backbone.', 'neck.', 'bbox_head.'))
    }
    if mismatch:
        raise CheckpointMismatchError(
            f'SMOKE checkpoint does not match DLA-34 ({norm}) + CenterNetDLANeck('
            f'use_dcn={use_dcn}) under the mmdet3d -> mmdla renames: ' + mismatch.describe())
    out = OrderedDict((k, renamed[k]) for k in signature)
    out.update((k, v) for k, v in renamed.items() if k.startswith('bbox_head.'))
    return ConversionResult(
        out,
        arch,
        'mmdet3d',
        renamed['bbox_head.conv_cls.weight'].shape[0],
        dropped,
        task='mono3d',
        extra=dict(norm=norm, use_dcn=use_dcn))


def convert_dla_checkpoint(checkpoint: Mapping) -> ConversionResult:
    """Convert any supported DLA checkpoint: SMOKE (mmdet3d), CenterNet (detection), DLASeg
    (segmentation) or ImageNet classifier."""
    state_dict = unwrap_state_dict(checkpoint)
    if is_smoke_checkpoint(state_dict):
        return convert_smoke(checkpoint)
    if is_centernet_checkpoint(state_dict):
        return convert_centernet(checkpoint)
    if is_segmentation_checkpoint(state_dict):
        return convert_dla_segmentor(checkpoint)
    return convert_dla_classifier(checkpoint)


#: the datasets whose class names a converted checkpoint can carry: name -> (task, number of
#: classes, module and class of the dataset whose ``METAINFO`` holds them). Imported only
#: when needed (the converter itself needs none of these libraries).
DATASETS = {
    'imagenet': ('classification', 1000, 'mmpretrain.datasets', 'ImageNet'),
    **{
        name: ('classification', FINE_GRAINED_CLASSES[name], 'mmpretrain.datasets', cls)
        for name, cls in [('cub', 'CUB'), ('cars', 'StanfordCars'), ('aircraft', 'FGVCAircraft'),
                          ('food101', 'Food101')]
    },
    'cityscapes': ('segmentation', 19, 'mmseg.datasets', 'CityscapesDataset'),
    'camvid': ('segmentation', 11, 'mmdla.datasets.camvid', 'CamVidDataset'),
    'coco': ('detection', 80, 'mmdet.datasets', 'CocoDataset'),
    'kitti': ('mono3d', 3, 'mmdla.reference', 'KITTI_MONO3D'),
}


def choose_dataset(task: str, num_classes: int, dataset: Optional[str] = None) -> str:
    """The dataset of a ``task`` checkpoint with ``num_classes`` outputs: ``dataset`` when
    given (checked against the task and the class count), else the one known dataset of
    that task with that many classes. ``'none'`` (no class names) is only ever chosen
    explicitly. Raises :class:`ConfigInputError` naming the choices."""
    if dataset == 'none':
        return dataset
    known = ', '.join(f'{name} ({n})' for name, (t, n, *_) in DATASETS.items() if t == task)
    if dataset is None:
        matches = [name for name, (t, n, *_) in DATASETS.items() if t == task and n == num_classes]
        if len(matches) == 1:
            return matches[0]
        raise ConfigInputError(
            f'cannot tell the dataset of a {task} checkpoint with {num_classes} classes '
            f"(known {task} datasets: {known}): name the dataset, or 'none' to store no "
            'class names')
    if dataset not in DATASETS:
        raise ConfigInputError(f"unknown dataset '{dataset}'; choose one of "
                               f"{', '.join(DATASETS)} or 'none'")
    task_of, classes_of = DATASETS[dataset][:2]
    if task_of != task:
        raise ConfigInputError(f'dataset {dataset} is a {task_of} dataset but the checkpoint '
                               f'is a {task} checkpoint ({known})')
    if classes_of != num_classes:
        raise ConfigInputError(
            f"dataset {dataset} has {classes_of} classes but the checkpoint's {task} head "
            f"has {num_classes} ({known}); name the right dataset or 'none'")
    return dataset


def dataset_metainfo(dataset: str) -> dict:
    """``{'classes': (...), ['palette': [[r, g, b], ...]]}`` of a :data:`DATASETS` entry, from
    its OpenMMLab dataset class (imported here: only the library of that dataset is needed).
    """
    task, _, module, cls = DATASETS[dataset]
    try:
        metainfo = getattr(importlib.import_module(module), cls).METAINFO
    except ImportError as exc:
        library = next(lib for lib in LIBRARIES.values() if lib.task == task)
        raise MissingPackageError(
            f'the class names of {dataset} come from {library.package}, which cannot be '
            f"imported ({exc}): {library.install_hint}, or choose dataset 'none'") from None
    meta = {'classes': tuple(metainfo['classes'])}
    if 'palette' in metainfo:
        meta['palette'] = [list(map(int, colour)) for colour in metainfo['palette']]
    return meta
