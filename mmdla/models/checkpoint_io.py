"""Reading a checkpoint of any DLA layout wherever MMEngine takes one.

MMEngine reads every checkpoint (``load_from``, ``init_cfg=dict(type='Pretrained', ...)``,
``load_checkpoint``, the inferencers) through ``CheckpointLoader``, which picks a loader by
the path's prefix. mmdla registers the local-file loader (prefix ``''``) here and the hub
loaders in :mod:`mmdla.models.hub`; both return what :func:`as_mmdla_checkpoint` makes of
the file:

- a PyTorch file (read with ``weights_only=True``, MMEngine's own objects allowed: see
  :mod:`mmdla.compat`) or a safetensors file, told apart by content, not by name;
- an official ucbdrive/dla, timm or CenterNet ctdet checkpoint is converted in memory into
  the tensors ``tools/model_converters/dla2mmdla.py`` writes (``backbone.*``, ``head.*``
  / ``decode_head.*`` / ``neck.*`` + ``bbox_head.*``), with the class names of its dataset
  in ``meta['dataset_meta']``; so ``prefix='backbone.'`` selects its backbone;
- anything else (mmdla / MMEngine checkpoints, a bare state dict) is returned as it is.
"""
import os.path as osp
from typing import Any, Mapping, Optional, Tuple

from mmengine.runner.checkpoint import CheckpointLoader

from mmdla.compat import load_checkpoint_file
from mmdla.errors import (CheckpointError, CheckpointMismatchError, ConfigInputError,
                          MissingPackageError)
from mmdla.utils.state_dict import unwrap_state_dict
from mmdla.version import __version__
from .converters import ConversionResult, choose_dataset, convert_dla_checkpoint, dataset_metainfo

__all__ = [
    'file_kind', 'read_checkpoint', 'is_foreign_dla_checkpoint', 'as_mmdla_checkpoint',
    'converted_checkpoint', 'load_local_checkpoint'
]


def file_kind(path: str) -> str:
    """'safetensors' or 'pytorch', from the content: a safetensors file starts with the
    8-byte little-endian length of its JSON header, then the header's '{' (a PyTorch zip
    archive starts with 'PK\\x03\\x04' and a compression method, a legacy PyTorch pickle with
    0x80, a protocol number and torch's magic number: neither has '{' there). Anything else
    is read as PyTorch, whose error is then reported."""
    with open(path, 'rb') as f:
        head = f.read(9)
    return 'safetensors' if len(head) == 9 and head[8:9] == b'{' else 'pytorch'


def _first_line(exc: Exception) -> str:
    return f'{type(exc).__name__}: {(str(exc).splitlines() or [""])[0][:200]}'


def read_checkpoint(path: str, map_location=None) -> Any:
    """The tensors (safetensors) or the object (PyTorch, ``weights_only``) in ``path``;
    :class:`CheckpointError` naming the file when it is missing, truncated or corrupt."""
    if not osp.isfile(path):
        what = 'is a directory, not a checkpoint file' if osp.isdir(path) else 'does not exist'
        raise CheckpointError(f"checkpoint '{path}' {what}")
    if file_kind(path) != 'safetensors':
        return load_checkpoint_file(path, map_location=map_location)
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise MissingPackageError(f"'{path}' is a safetensors file: pip install safetensors "
                                  'to read it') from None
    try:
        device = map_location if isinstance(map_location, str) else 'cpu'
        return load_file(path, device=device)
    except Exception as exc:  # SafetensorError, JSON / header errors
        raise CheckpointError(f"cannot read '{path}' as a safetensors file "
                              f'({_first_line(exc)}): is it truncated or corrupt?') from None


def is_foreign_dla_checkpoint(checkpoint: Any) -> bool:
    """An official / timm DLA classifier (``base_layer.*`` + ``fc.*``) or an official DLASeg /
    CenterNet checkpoint (``base.base_layer.*`` + ``dla_up.*``): a layout the converter reads
    and mmdla's models do not. A bare DLA backbone state dict loads as it is and is not."""
    if not isinstance(checkpoint, Mapping):
        return False
    names = unwrap_state_dict(checkpoint).keys()
    classifier = 'base_layer.0.weight' in names and 'fc.weight' in names
    dla_up = 'base.base_layer.0.weight' in names and any(k.startswith('dla_up.') for k in names)
    return classifier or dla_up


def converted_checkpoint(checkpoint: Mapping,
                         source: str,
                         dataset: Optional[str] = None,
                         **meta) -> Tuple[dict, ConversionResult]:
    """The MMEngine checkpoint ``{'state_dict', 'meta'}`` of an official, timm or CenterNet
    ``checkpoint`` read from ``source`` (a file: its name is kept; a hub name or URL), as
    ``dla2mmdla.py`` writes it (``meta`` adds entries), and the
    conversion's result (arch, task, the tensors dropped). ``dataset`` names
    the dataset whose class names ``meta['dataset_meta']`` carries ('none': no names);
    None tells it from the task and the class count. Raises
    :class:`CheckpointMismatchError` (prefixed with ``source``) for a layout that does not
    convert and :class:`ConfigInputError` for a dataset that does not fit."""
    try:
        result = convert_dla_checkpoint(checkpoint)
    except CheckpointMismatchError as exc:
        raise CheckpointMismatchError(f'{source}: {exc}') from None
    dataset = choose_dataset(result.task, result.num_classes, dataset)
    info = dict(
        task=result.task,
        arch=result.arch,
        source_format=result.source_format,
        num_classes=result.num_classes,
        source=osp.basename(source) if osp.exists(source) else source,  # a file / a URL
        **meta,
        mmdla_version=__version__)
    if result.task == 'segmentation':
        info['down_ratio'] = result.down_ratio
    info.update(result.extra)
    if dataset != 'none':
        info['dataset_meta'] = dataset_metainfo(dataset)
    return dict(state_dict=result.state_dict, meta=info), result


def as_mmdla_checkpoint(checkpoint: Any, source: str) -> Any:
    """``checkpoint`` converted in memory when it is in an official, timm or CenterNet layout
    (class names told from the class count, none when the count names no known dataset);
    anything else unchanged."""
    if not is_foreign_dla_checkpoint(checkpoint):
        return checkpoint
    try:
        return converted_checkpoint(checkpoint, source)[0]
    except ConfigInputError:  # a class count of no known dataset: no class names
        return converted_checkpoint(checkpoint, source, 'none')[0]


def load_local_checkpoint(filename: str, map_location=None) -> Any:
    """MMEngine's local-file loader, for any layout (module docstring)."""
    path = osp.expanduser(filename)
    return as_mmdla_checkpoint(read_checkpoint(path, map_location), path)


CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
