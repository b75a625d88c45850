"""Reading a checkpoint of any DLA layout wherever MMEngine takes one.

MMEngine reads every checkpoint (``load_from``, ``init_cfg=dict(type='Pretrained', ...)``,
``load_checkpoint``, the inferencers) through ``CheckpointLoader``, which picks a loader by
the path's prefix. mmdla registers the local-file loader (prefix ``''``) here and the hub
loaders in :mod:`mmdla.models.hub`; both return what :func:`as_mmdla_checkpoint` makes of
the file:

- a PyTorch file (read with ``weights_only=True``, MMEngine's own objects allowed: see
  :mod:`mmdla.compat`) or a safetensors file, told apart by content, not by name;
- an official ucbdrive/dla, timm, CenterNet ctdet or mmdet3d SMOKE checkpoint is converted
  in memory into the tensors ``tools/model_converters/dla2mmdla.py`` writes (``backbone.*``,
  ``head.*`` / ``decode_head.*`` / ``neck.*`` + ``bbox_head.*``), with the class names of
  its dataset in ``meta['dataset_meta']``; so ``prefix='backbone.'`` selects its backbone;
- anything else (mmdla / MMEngine checkpoints, a bare state dict) is returned as it is.
"""
import os.path as osp
from typing import Any, Mapping

from mmengine.runner.checkpoint import CheckpointLoader

from mmdla.compat import check_checkpoint_path, load_checkpoint_file
from mmdla.errors import (CheckpointError, CheckpointMismatchError, ConfigInputError,
                          MissingPackageError)
from mmdla.utils.state_dict import unwrap_state_dict
from mmdla.version import __version__
from .converters import (ConversionResult, choose_dataset, convert_dla_checkpoint, dataset_metainfo,
                         is_smoke_checkpoint)

__all__ = [
    'file_kind', 'first_line', 'read_checkpoint', 'is_foreign_dla_checkpoint', 'convert_checkpoint',
    'mmdla_checkpoint', 'as_mmdla_checkpoint', 'load_local_checkpoint'
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


def first_line(exc: Exception) -> str:
    """'Type: first line of the message' (at most 200 characters) of an exception."""
    return f'{type(exc).__name__}: {(str(exc).splitlines() or [""])[0][:200]}'


def read_checkpoint(path: str, map_location=None) -> Any:
    """The tensors (safetensors) or the object (PyTorch, ``weights_only``) in ``path``;
    :class:`CheckpointError` naming the file when it is missing, truncated or corrupt."""
    check_checkpoint_path(path)
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
                              f'({first_line(exc)}): is it truncated or corrupt?') from None


def is_foreign_dla_checkpoint(checkpoint: Any) -> bool:
    """An official / timm DLA classifier (``base_layer.*`` + ``fc.*``) or an official DLASeg /
    CenterNet checkpoint (``base.base_layer.*`` + ``dla_up.*``) or an mmdet3d SMOKE checkpoint
    (:func:`~mmdla.models.converters.is_smoke_checkpoint`): a layout the converter reads
    and mmdla's models do not. A bare DLA backbone state dict loads as it is and is not."""
    if not isinstance(checkpoint, Mapping):
        return False
    names = unwrap_state_dict(checkpoint).keys()
    classifier = 'base_layer.0.weight' in names and 'fc.weight' in names
    dla_up = 'base.base_layer.0.weight' in names and any(k.startswith('dla_up.') for k in names)
    return classifier or dla_up or is_smoke_checkpoint(names)


def convert_checkpoint(checkpoint: Mapping, source: str) -> ConversionResult:
    """:func:`~mmdla.models.converters.convert_dla_checkpoint` of an official, timm or
    CenterNet ``checkpoint`` read from ``source``; its :class:`CheckpointMismatchError`
    names ``source``."""
    try:
        return convert_dla_checkpoint(checkpoint)
    except CheckpointMismatchError as exc:
        raise CheckpointMismatchError(f'{source}: {exc}') from None


def mmdla_checkpoint(result: ConversionResult, source: str, dataset: str, **meta) -> dict:
    """The MMEngine checkpoint ``{'state_dict', 'meta'}`` of a conversion ``result``, as
    ``dla2mmdla.py`` writes it: ``meta`` records the task, arch, source format, class count,
    ``source`` (a file: its name; a hub name or URL as it is) and the entries ``meta``
    adds; ``meta['dataset_meta']`` holds the class names of ``dataset``
    (:data:`~mmdla.models.converters.DATASETS`; 'none': no class names)."""
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
    return dict(state_dict=result.state_dict, meta=info)


def as_mmdla_checkpoint(checkpoint: Any, source: str) -> Any:
    """``checkpoint`` converted in memory when it is in an official, timm or CenterNet layout
    (class names told from the class count, none when the count names no known dataset);
    anything else unchanged."""
    if not is_foreign_dla_checkpoint(checkpoint):
        return checkpoint
    result = convert_checkpoint(checkpoint, source)
    try:
        dataset = choose_dataset(result.task, result.num_classes)
    except ConfigInputError:  # a class count of no known dataset: no class names
        dataset = 'none'
    return mmdla_checkpoint(result, source, dataset)


def load_local_checkpoint(filename: str, map_location=None) -> Any:
    """MMEngine's local-file loader, for any layout (module docstring)."""
    path = osp.expanduser(filename)
    return as_mmdla_checkpoint(read_checkpoint(path, map_location), path)


CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
