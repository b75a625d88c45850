#!/usr/bin/env python
"""Convert an official ucbdrive/dla or a timm DLA checkpoint into an mmdla checkpoint.

    python tools/model_converters/dla2mmdla.py SRC DST

SRC: a plain state dict or one wrapped in 'state_dict' / 'model': official ImageNet
weights (``dla34-ba72cf86.pth`` ...), timm's ``dla*`` weights, or an official DLA-Up
segmentation checkpoint (``dla34up``: ``base.*``, ``dla_up.*``, ``fc.*``, ``up.*``), or a
CenterNet ctdet DLA checkpoint (``{'epoch', 'state_dict'}``: ``base.*``, ``dla_up.*``,
``ida_up.*``, ``hm.*``, ``wh.*``, ``reg.*``). The task, source format, arch (and down_ratio)
are detected from the tensors.
DST: an MMEngine checkpoint ``{'state_dict': ..., 'meta': ...}``: for classification an
mmpretrain ImageClassifier (``backbone.*``, ``head.fc.*``), whose backbone mmseg configs
load with ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``; for
segmentation an mmseg EncoderDecoder with DLAUpHead (``backbone.*``, ``decode_head.*``); for
detection an mmdet CenterNet (``backbone.*``, ``neck.*``, ``bbox_head.*``) that loads into
configs/centernet_dla34_coco.py.
Exits with status 2 and a one-line reason for files that are not (readable) DLA
checkpoints, a directory given for a file, or DST equal to SRC.
"""
import argparse
import os
import os.path as osp

import torch

from mmdla.errors import (CheckpointError, CheckpointMismatchError, ConfigInputError,
                          exit_on_input_error)
from mmdla.models.converters import convert_dla_checkpoint
from mmdla.version import __version__


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('src', help='official or timm DLA checkpoint (.pth)')
    parser.add_argument('dst', help='output MMEngine checkpoint (.pth)')
    return parser.parse_args(argv)


def check_paths(src: str, dst: str) -> None:
    """SRC is an existing file, DST a new or replaceable file other than SRC."""
    if osp.isdir(src):
        found = sorted(f for f in os.listdir(src) if f.endswith(('.pth', '.bin', '.pt')))
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


def read_checkpoint(src: str):
    try:
        return torch.load(src, map_location='cpu', weights_only=True)
    except Exception as exc:  # pickle / zip / EOF errors come in many types
        first = (str(exc).splitlines() or [''])[0][:200]
        raise CheckpointError(f"cannot read '{src}' as a PyTorch checkpoint "
                              f'({type(exc).__name__}: {first}): is it truncated or not a '
                              'checkpoint?') from None


@exit_on_input_error
def main(argv=None) -> int:
    args = parse_args(argv)
    check_paths(args.src, args.dst)
    try:
        result = convert_dla_checkpoint(read_checkpoint(args.src))
    except CheckpointMismatchError as exc:
        raise CheckpointMismatchError(f'{args.src}: {exc}') from None
    meta = dict(task=result.task, arch=result.arch, source_format=result.source_format,
                num_classes=result.num_classes, source=osp.basename(args.src),
                mmdla_version=__version__)
    if result.task == 'segmentation':
        meta['down_ratio'] = result.down_ratio
    meta.update(result.extra)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + '.tmp'
    torch.save({'state_dict': result.state_dict, 'meta': meta}, tmp)
    os.replace(tmp, args.dst)  # never leave a truncated DST behind
    print(f'dla2mmdla: {args.src} ({result.source_format} {result.arch} {result.task}, '
          f'{result.num_classes} classes) -> {args.dst}: {len(result.state_dict)} tensors, '
          f'dropped {len(result.dropped)} unused official tensors')
    return 0


if __name__ == '__main__':
    main()
