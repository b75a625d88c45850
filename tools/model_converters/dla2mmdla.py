#!/usr/bin/env python
"""Convert an official ucbdrive/dla or a timm DLA checkpoint into an mmdla checkpoint.

    python tools/model_converters/dla2mmdla.py SRC DST

SRC: a plain state dict or one wrapped in 'state_dict' / 'model': official ImageNet
weights (``dla34-ba72cf86.pth`` ...), timm's ``dla*`` weights, or an official DLA-Up
segmentation checkpoint (``dla34up``: ``base.*``, ``dla_up.*``, ``fc.*``, ``up.*``). The
task, source format, arch (and down_ratio) are detected from the tensors.
DST: an MMEngine checkpoint ``{'state_dict': ..., 'meta': ...}``: for classification an
mmpretrain ImageClassifier (``backbone.*``, ``head.fc.*``), whose backbone mmseg configs
load with ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``; for
segmentation an mmseg EncoderDecoder with DLAUpHead (``backbone.*``, ``decode_head.*``).
Exits with status 1 and a one-line reason for files that are not DLA checkpoints.
"""
import argparse
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdla.models.converters import CheckpointMismatchError, convert_dla_checkpoint  # noqa: E402
from mmdla.version import __version__  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('src', help='official or timm DLA checkpoint (.pth)')
    parser.add_argument('dst', help='output MMEngine checkpoint (.pth)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.src):
        print(f'dla2mmdla: error: {args.src} does not exist', file=sys.stderr)
        return 1
    try:
        checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    except Exception as exc:  # pickle / zip errors come in many types
        print(f'dla2mmdla: error: cannot read {args.src} as a PyTorch checkpoint '
              f'({type(exc).__name__}: {str(exc).splitlines()[0][:200]})', file=sys.stderr)
        return 1
    try:
        result = convert_dla_checkpoint(checkpoint)
    except CheckpointMismatchError as exc:
        print(f'dla2mmdla: error: {args.src}: {exc}', file=sys.stderr)
        return 1
    meta = dict(task=result.task, arch=result.arch, source_format=result.source_format,
                num_classes=result.num_classes, source=osp.basename(args.src),
                mmdla_version=__version__)
    if result.task == 'segmentation':
        meta['down_ratio'] = result.down_ratio
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + '.tmp'
    torch.save({'state_dict': result.state_dict, 'meta': meta}, tmp)
    os.replace(tmp, args.dst)  # never leave a truncated DST behind
    print(f'dla2mmdla: {args.src} ({result.source_format} {result.arch} {result.task}, '
          f'{result.num_classes} classes) -> {args.dst}: {len(result.state_dict)} tensors, '
          f'dropped {len(result.dropped)} unused official tensors')
    return 0


if __name__ == '__main__':
    sys.exit(main())
