#!/usr/bin/env python
"""Convert an official ucbdrive/dla, a timm or a CenterNet DLA checkpoint into an mmdla one.

    python tools/model_converters/dla2mmdla.py SRC DST [--dataset NAME]

SRC: a PyTorch file (``.pth``, timm's ``pytorch_model.bin``) or a safetensors file (timm's
``model.safetensors``); the kind is told from the file's first bytes, not its name. It
holds a plain state dict or one wrapped in 'state_dict' / 'model': official ImageNet
weights (``dla34-ba72cf86.pth`` ...), timm's ``dla*`` weights, an official DLA-Up
segmentation checkpoint (``dla34up``: ``base.*``, ``dla_up.*``, ``fc.*``, ``up.*``), or a
CenterNet ctdet DLA checkpoint (``{'epoch', 'state_dict'}``: ``base.*``, ``dla_up.*``,
``ida_up.*``, ``hm.*``, ``wh.*``, ``reg.*``). The task, source format, arch (and down_ratio)
are detected from the tensors.
DST: an MMEngine checkpoint ``{'state_dict': ..., 'meta': ...}``: for classification an
mmpretrain ImageClassifier (``backbone.*``, ``head.fc.*``), whose backbone mmseg configs
load with ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``; for
segmentation an mmseg EncoderDecoder with DLAUpHead (``backbone.*``, ``decode_head.*``); for
detection an mmdet CenterNet (``backbone.*``, ``neck.*``, ``bbox_head.*``) that loads into
configs/centernet_dla34_coco.py. ``meta['dataset_meta']`` holds the class names (and
palette) of the dataset: ImageNet for 1000 classes, Cityscapes for 19 and CamVid for 11
segmentation classes, COCO for 80 detection classes, the fine-grained sets by their class
counts; ``--dataset`` names it where the class count does not (``--dataset none``: no
class names). The same SRC always gives the same DST bytes (its sha256 is printed), so a
published conversion can be checked or reproduced locally.
Exits with status 2 and a one-line reason for files that are not (readable) DLA
checkpoints, a directory given for a file, DST equal to SRC, or a dataset that does not fit.

No progress bar: the largest conversion (dla169, 214 MB) takes under a second, most of it
reading and writing the files.
"""
import argparse
import hashlib
import os
import os.path as osp

import torch

from mmdla.errors import (CheckpointError, CheckpointMismatchError, ConfigInputError,
                          exit_on_input_error)
from mmdla.models.converters import (DATASETS, choose_dataset, convert_dla_checkpoint,
                                     dataset_metainfo)
from mmdla.version import __version__

CHECKPOINT_SUFFIXES = ('.pth', '.pt', '.bin', '.safetensors')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('src', help='official, timm or CenterNet DLA checkpoint (.pth, '
                        '.bin or .safetensors)')
    parser.add_argument('dst', help='output MMEngine checkpoint (.pth)')
    parser.add_argument('--dataset', choices=list(DATASETS) + ['none'],
                        help='dataset whose class names DST carries (default: told from the '
                        'task and the number of classes)')
    return parser.parse_args(argv)


def check_paths(src: str, dst: str) -> None:
    """SRC is an existing file, DST a new or replaceable file other than SRC."""
    if osp.isdir(src):
        found = sorted(f for f in os.listdir(src) if f.endswith(CHECKPOINT_SUFFIXES))
        hint = f' (it holds {", ".join(found[:3])})' if found else ''
        raise ConfigInputError(f"SRC '{src}' is a directory{hint}: give the checkpoint file")
    if not osp.isfile(src):
        raise ConfigInputError(f"SRC '{src}' does not exist")
    if osp.isdir(dst) or dst.endswith(os.sep):
        raise ConfigInputError(f"DST '{dst}' is a directory: give the output file name, e.g. "
                               f'{osp.join(dst, "dla34_imagenet.pth")}')
    if osp.exists(dst) and osp.samefile(src, dst):
        raise ConfigInputError(f"DST '{dst}' is SRC: write the converted checkpoint to another "
                               'file (the source would be overwritten)')


def file_kind(path: str) -> str:
    """'safetensors' or 'pytorch', from the content: a safetensors file starts with the
    8-byte little-endian length of its JSON header, then the header's '{' (a PyTorch zip
    archive starts with 'PK\\x03\\x04' and a compression method, a legacy PyTorch pickle with
    0x80, a protocol number and torch's magic number: neither has '{' there). Anything else
    is read as PyTorch, whose error is then reported."""
    with open(path, 'rb') as f:
        head = f.read(9)
    if len(head) == 9 and head[8:9] == b'{':
        return 'safetensors'
    return 'pytorch'


def _first_line(exc: Exception) -> str:
    return f'{type(exc).__name__}: {(str(exc).splitlines() or [""])[0][:200]}'


def read_checkpoint(src: str):
    """The tensors (safetensors) or the object (PyTorch, ``weights_only``) in ``src``."""
    if file_kind(src) == 'safetensors':
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise ConfigInputError(f"'{src}' is a safetensors file: pip install safetensors "
                                   'to read it') from None
        try:
            return load_file(src, device='cpu')
        except Exception as exc:  # SafetensorError, JSON / header errors
            raise CheckpointError(f"cannot read '{src}' as a safetensors file "
                                  f'({_first_line(exc)}): is it truncated or corrupt?') from None
    try:
        with open(src, 'rb') as f:  # (a path ending in .safetensors would make torch.load
            return torch.load(f, map_location='cpu', weights_only=True)  # pick by name)
    except Exception as exc:  # pickle / zip / EOF errors come in many types
        raise CheckpointError(f"cannot read '{src}' as a PyTorch or safetensors checkpoint "
                              f'({_first_line(exc)}): is it truncated or not a '
                              'checkpoint?') from None


def sha256sum(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(checkpoint: dict, dst: str) -> None:
    """Write ``checkpoint`` to ``dst`` atomically (never a truncated DST) and reproducibly:
    saved through a file object, the archive's inner folder is torch's fixed 'archive'
    instead of the file's name, so the bytes depend on the contents only."""
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = dst + '.tmp'
    with open(tmp, 'wb') as f:
        torch.save(checkpoint, f)
    os.replace(tmp, dst)


@exit_on_input_error
def main(argv=None) -> int:
    args = parse_args(argv)
    check_paths(args.src, args.dst)
    try:
        result = convert_dla_checkpoint(read_checkpoint(args.src))
    except CheckpointMismatchError as exc:
        raise CheckpointMismatchError(f'{args.src}: {exc}') from None
    dataset = choose_dataset(result.task, result.num_classes, args.dataset)
    dataset_meta = {} if dataset == 'none' else dataset_metainfo(dataset)
    meta = dict(task=result.task, arch=result.arch, source_format=result.source_format,
                num_classes=result.num_classes, source=osp.basename(args.src),
                source_sha256=sha256sum(args.src), mmdla_version=__version__)
    if result.task == 'segmentation':
        meta['down_ratio'] = result.down_ratio
    meta.update(result.extra)
    if dataset_meta:
        meta['dataset_meta'] = dataset_meta
    save_checkpoint({'state_dict': result.state_dict, 'meta': meta}, args.dst)
    classes = f'{dataset} class names' if dataset_meta else 'no class names'
    print(f'dla2mmdla: {args.src} ({result.source_format} {result.arch} {result.task}, '
          f'{result.num_classes} classes) -> {args.dst}: {len(result.state_dict)} tensors, '
          f'dropped {len(result.dropped)} unused official tensors, {classes}; '
          f'sha256 {sha256sum(args.dst)}')
    return 0


if __name__ == '__main__':
    main()
