"""Pre-flight checks of a config's inputs, so that tools fail with one clear line.

MMEngine would otherwise fail deep inside dataset building or weight initialisation with a
stack trace that does not say which config key is wrong or how to fix it.
"""
import importlib
import os
import os.path as osp
from typing import Iterator, List, Mapping, Optional, Tuple, Union

import torch.nn as nn
from mmengine.config import Config

from mmdla.errors import CheckpointError, CheckpointMismatchError, ConfigInputError
from mmdla.libraries import library_of
from mmdla.models.backbones.dla import check_indices, parse_arch
from mmdla.models.hub import HUB_PREFIX
from mmdla.utils.state_dict import Mismatch, unwrap_state_dict

#: how to create the data of each dataset type (README "Data preparation")
DATA_HINTS = {
    'CityscapesDataset':
    'download Cityscapes and run python tools/dataset_converters/'
    'cityscapes.py DATA_ROOT (or, for the toy data, python '
    'tools/misc/make_toy_data.py data/toy)',
    'CamVidDataset':
    'run python tools/dataset_converters/camvid.py PATH/TO/CamVid -o '
    'data/camvid',
}
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def _datasets(cfg: dict, key: str) -> Iterator[Tuple[str, dict]]:
    """(config key, dataset cfg) for a dataset and the datasets it wraps."""
    if not isinstance(cfg, dict):
        return
    yield key, cfg
    if isinstance(cfg.get('dataset'), dict):
        yield from _datasets(cfg['dataset'], f'{key}.dataset')
    for i, sub in enumerate(cfg.get('datasets', []) or []):
        yield from _datasets(sub, f'{key}.datasets[{i}]')


def _has_images(directory: str) -> bool:
    for _root, _dirs, files in os.walk(directory, followlinks=True):
        if any(f.lower().endswith(IMAGE_SUFFIXES) for f in files):
            return True
    return False


def check_data(cfg: Config, loaders: List[str]) -> None:
    """Every ``data_root`` / image directory of the given dataloaders exists and has images."""
    for loader in loaders:
        if not isinstance(cfg.get(loader), dict):
            continue
        for key, dataset in _datasets(cfg[loader].get('dataset'), f'{loader}.dataset'):
            data_root = dataset.get('data_root')
            if not data_root:
                continue
            hint = DATA_HINTS.get(dataset.get('type'), "see README 'Data preparation'")
            if not osp.isdir(data_root):
                raise ConfigInputError(
                    f"{key}.data_root '{data_root}' does not exist: {hint}; or point the "
                    f'config at your copy with --cfg-options {key}.data_root=PATH')
            prefix = dataset.get('data_prefix') or ''
            if isinstance(prefix, dict):  # mmseg: dict(img_path=..., seg_map_path=...)
                prefix = prefix.get('img_path', '')  # mmpretrain: a plain str
            img_dir = osp.join(data_root, prefix)
            if not osp.isdir(img_dir) or not _has_images(img_dir):
                raise ConfigInputError(
                    f"{key}: split directory '{img_dir}' is missing or has no images "
                    f'(data_root exists; image prefix {prefix!r}): {hint}')


def _pretrained(cfg, path='model') -> Iterator[Tuple[str, dict]]:
    if isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        for i, item in enumerate(init if isinstance(init, list) else [init]):
            if isinstance(item, dict) and item.get('type') == 'Pretrained':
                yield f'{path}.init_cfg' + (f'[{i}]' if isinstance(init, list) else ''), item
        for k, v in cfg.items():
            if k != 'init_cfg':
                yield from _pretrained(v, f'{path}.{k}')
    elif isinstance(cfg, list):
        for i, v in enumerate(cfg):
            yield from _pretrained(v, f'{path}[{i}]')


def _is_remote(checkpoint: str) -> bool:
    """A URL or a name MMEngine / mmdla resolves (``hf-hub:``, ``open-mmlab://`` ...)."""
    return '://' in checkpoint or checkpoint.startswith(('torchvision', 'open-mmlab', HUB_PREFIX))


def check_pretrained(cfg: Config) -> None:
    """Every local ``Pretrained`` checkpoint in ``cfg.model`` exists."""
    for key, init in _pretrained(cfg.get('model')):
        checkpoint = str(init.get('checkpoint', ''))
        if _is_remote(checkpoint):
            continue
        if not osp.isfile(checkpoint):
            backbone = key.rsplit('.init_cfg', 1)[0]
            arch = (cfg.model.get('backbone') or {}).get('arch', 'dla34')
            arch = arch if isinstance(arch, str) else 'dla34'
            raise ConfigInputError(
                f"pretrained checkpoint '{checkpoint}' ({key}) not found. Give an existing "
                'file (any layout: mmdla, official .pth, timm .safetensors / .bin), load '
                "timm's ImageNet weights by name (--cfg-options "
                f'{key}.checkpoint=hf-hub:timm/{arch}.in1k), or '
                f'train from scratch with --cfg-options {backbone}.init_cfg=None')


def check_load_from(cfg: Config) -> None:
    """``load_from`` (a checkpoint to start from or to test) is an existing file."""
    load_from = cfg.get('load_from')
    if load_from and not _is_remote(str(load_from)) and not osp.isfile(load_from):
        what = 'is a directory' if osp.isdir(load_from) else 'does not exist'
        raise ConfigInputError(f"checkpoint '{load_from}' (load_from) {what}: give the path "
                               'of a checkpoint file')


# ----------------------------------------------------------------------------------------
# The model's wiring: heads fit the backbone's outputs and the dataset's classes.

DLA_TYPES = ('DLA', 'mmseg.DLA', 'mmpretrain.DLA')


def _heads(model: dict) -> Iterator[Tuple[str, dict]]:
    """(config key, head cfg) of the decode / auxiliary heads (mmseg) or the head
    (mmpretrain)."""
    for key in ('decode_head', 'auxiliary_head', 'head'):
        heads = model.get(key)
        for i, head in enumerate(heads if isinstance(heads, list) else [heads]):
            if isinstance(head, dict):
                yield f'model.{key}' + (f'[{i}]' if isinstance(heads, list) else ''), head


def dla_out_channels(backbone: dict) -> Optional[Tuple[int, ...]]:
    """Channels of a DLA backbone config's outputs (None for other backbones)."""
    if not isinstance(backbone, dict) or backbone.get('type') not in DLA_TYPES:
        return None
    spec = parse_arch(backbone.get('arch', 'dla34'))
    indices = check_indices('out_indices', backbone.get('out_indices', range(6)))
    return tuple(spec['channels'][i] for i in indices)


def _head_inputs(head: dict):
    """(in_index list, in_channels list) a head reads (mmseg's defaults)."""
    in_channels = head.get('in_channels')
    in_index = head.get('in_index')
    if in_index is None:  # DLAUpHead: the last len(in_channels); BaseDecodeHead: -1
        in_index = (list(range(-len(in_channels), 0)) if head.get('type') == 'DLAUpHead' else -1)
    if isinstance(in_index, int):
        in_index = [in_index]
    if isinstance(in_channels, int):
        in_channels = [in_channels]
    return list(in_index), list(in_channels)


def check_model_wiring(model: dict) -> None:
    """The heads read backbone outputs that exist, with the channels they have.

    Checked for DLA backbones without a neck that changes channels: mmseg heads'
    ``in_index`` / ``in_channels`` against the backbone's ``out_indices``; mmpretrain's
    head ``in_channels`` (after global average pooling) against the last output.
    """
    channels = dla_out_channels(model.get('backbone'))
    if channels is None:
        return
    neck = model.get('neck')
    if neck is not None and (not isinstance(neck, dict)
                             or neck.get('type') != 'GlobalAveragePooling'):
        return
    outputs = ', '.join(f'{i}: {c}' for i, c in enumerate(channels))
    fix = (f'the backbone (out_indices {tuple(model["backbone"].get("out_indices", range(6)))}'
           f') outputs [{outputs}] (position: channels); make them agree')
    for key, head in _heads(model):
        if head.get('in_channels') is None:
            continue
        if key == 'model.head':  # mmpretrain: pooled last output
            if head['in_channels'] != channels[-1]:
                raise ConfigInputError(f'{key}.in_channels is {head["in_channels"]} but the '
                                       f'last backbone output has {channels[-1]} channels: ' + fix)
            continue
        in_index, in_channels = _head_inputs(head)
        if len(in_index) != len(in_channels):
            raise ConfigInputError(f'{key}: in_index {in_index} and in_channels {in_channels} '
                                   'differ in length: ' + fix)
        for i, c in zip(in_index, in_channels):
            if not -len(channels) <= i < len(channels):
                raise ConfigInputError(f'{key}.in_index {i} is out of range: ' + fix)
            if channels[i] != c:
                raise ConfigInputError(
                    f'{key}: in_channels {in_channels} do not fit in_index {in_index} '
                    f'(output {i} has {channels[i]} channels, not {c}): ' + fix)


def dataset_class_metainfo(scope: str, dataset_type) -> dict:
    """``METAINFO`` of the dataset class ``dataset_type`` in library ``scope``'s registry;
    empty when the library or the type is not found."""
    try:
        registry = importlib.import_module(library_of(scope).registry).DATASETS
        dataset_cls = registry.get(dataset_type)
    except (ImportError, KeyError):
        return {}
    return dict(getattr(dataset_cls, 'METAINFO', {}) or {})


def _dataset_classes(scope: str, dataset: dict) -> Optional[tuple]:
    """The class names a dataset config declares (metainfo or the class's METAINFO)."""
    metainfo = dataset.get('metainfo') or {}
    if metainfo.get('classes'):
        return tuple(metainfo['classes'])
    classes = dataset_class_metainfo(scope, dataset.get('type')).get('classes')
    return tuple(classes) if classes else None


def _pipeline_num_classes(dataset: dict) -> Iterator[int]:
    for step in dataset.get('pipeline') or []:
        if isinstance(step, dict) and step.get('type') == 'LoadSegAnnotations' and \
                step.get('num_classes') is not None:
            yield step['num_classes']


def check_num_classes(cfg: Config, loaders: List[str]) -> None:
    """Each head's ``num_classes`` equals the number of classes of the datasets it is
    trained / evaluated on, and the label check of the pipeline (``LoadSegAnnotations``
    ``num_classes``) uses the same number."""
    model = cfg.get('model') or {}
    scope = library_of(cfg).scope
    heads = [(k, h) for k, h in _heads(model) if h.get('num_classes') is not None]
    for loader in loaders:
        if not isinstance(cfg.get(loader), dict):
            continue
        for key, dataset in _datasets(cfg[loader].get('dataset'), f'{loader}.dataset'):
            classes = _dataset_classes(scope, dataset)
            for head_key, head in heads:
                n = head['num_classes']
                if classes is not None and len(classes) != n:
                    raise ConfigInputError(
                        f'{head_key}.num_classes is {n} but {key} ({dataset.get("type")}) has '
                        f'{len(classes)} classes: set {head_key}.num_classes={len(classes)} '
                        'or use a dataset with that many classes')
                for labels in _pipeline_num_classes(dataset):
                    if labels != n:
                        raise ConfigInputError(
                            f'{head_key}.num_classes is {n} but the LoadSegAnnotations of '
                            f'{key}.pipeline accepts label values 0..{labels - 1}: use the '
                            'same num_classes in both')


def check_config_inputs(cfg: Config, mode: str) -> None:
    """Pre-flight checks for ``mode`` 'train' (train + val data, pretrained weights,
    load_from) or 'test' (test data, load_from): classes, data, checkpoint files."""
    if mode == 'train':
        loaders = ['train_dataloader'] + (['val_dataloader'] if cfg.get('val_cfg') else [])
    else:
        loaders = ['test_dataloader']
    check_num_classes(cfg, loaders)
    check_data(cfg, loaders)
    if mode == 'train':
        check_pretrained(cfg)  # the Runner initialises weights even when it resumes
    check_load_from(cfg)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside DDP / TTA wrappers (what a checkpoint's state dict describes)."""
    while hasattr(model, 'module') and isinstance(model.module, nn.Module):
        model = model.module
    return model


def load_checkpoint_any(checkpoint: str) -> dict:
    """The checkpoint ``checkpoint`` names (a file in any layout mmdla reads, a hub name or
    URL, any MMEngine scheme) as a dict, through MMEngine's ``CheckpointLoader``."""
    from mmengine.runner.checkpoint import _load_checkpoint
    loaded = _load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(loaded, dict):
        raise CheckpointError(f"checkpoint '{checkpoint}' holds a {type(loaded).__name__}, not "
                              'a state dict or an MMEngine checkpoint')
    return loaded


def check_checkpoint_fits(model: nn.Module,
                          checkpoint: Union[str, Mapping],
                          name: Optional[str] = None) -> None:
    """The checkpoint (a name for :func:`load_checkpoint_any`, or the loaded dict and its
    ``name``) holds exactly the model's tensors (names and shapes); else
    :class:`CheckpointMismatchError` lists what differs. MMEngine's own test-time loading is
    not strict and would evaluate a half-loaded model silently."""
    if isinstance(checkpoint, str):
        checkpoint, name = load_checkpoint_any(checkpoint), checkpoint
    try:
        state_dict = unwrap_state_dict(checkpoint)
    except CheckpointMismatchError as exc:
        raise CheckpointMismatchError(f"checkpoint '{name}': {exc}") from None
    expected = {k: v.shape for k, v in unwrap_model(model).state_dict().items()}
    mismatch = Mismatch.between(state_dict, expected)
    if mismatch:
        raise CheckpointMismatchError(
            f"checkpoint '{name}' does not fit the config's model ({mismatch.describe()})"
            ': use the checkpoint trained or converted for this config')
