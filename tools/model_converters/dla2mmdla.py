#!/usr/bin/env python
"""Convert an official ucbdrive/dla, timm, CenterNet or mmdet3d SMOKE DLA checkpoint to mmdla.

    python tools/model_converters/dla2mmdla.py SRC DST [--dataset NAME]
    python tools/model_converters/dla2mmdla.py SRC_DIR DST_DIR [--dataset NAME]

SRC: a PyTorch file (``.pth``, timm's ``pytorch_model.bin``) or a safetensors file (timm's
``model.safetensors``); the kind is told from the file's first bytes, not its name. It
holds a plain state dict or one wrapped in 'state_dict' / 'model': official ImageNet
weights (``dla34-ba72cf86.pth`` ...), timm's ``dla*`` weights, an official DLA-Up
segmentation checkpoint (``dla34up``: ``base.*``, ``dla_up.*``, ``fc.*``, ``up.*``), or a
CenterNet ctdet DLA checkpoint (``{'epoch', 'state_dict'}``: ``base.*``, ``dla_up.*``,
``ida_up.*``, ``hm.*``, ``wh.*``, ``reg.*``), or an MMDetection3D SMOKE checkpoint
(``smoke_dla34_pytorch_dlaneck_gn-all_8x4_6x_kitti-mono3d_*.pth``: its ``DLANet`` +
``DLANeck`` + ``SMOKEMono3DHead``). The task, source format, arch (and down_ratio)
are detected from the tensors.
DST: an MMEngine checkpoint ``{'state_dict': ..., 'meta': ...}``: for classification an
mmpretrain ImageClassifier (``backbone.*``, ``head.fc.*``), whose backbone mmseg configs
load with ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``; for
segmentation an mmseg EncoderDecoder with DLAUpHead (``backbone.*``, ``decode_head.*``); for
detection an mmdet CenterNet (``backbone.*``, ``neck.*``, ``bbox_head.*``) that loads into
configs/centernet_dla34_coco.py; for SMOKE the tensors of configs/smoke_dla34_kitti-mono3d.py
(KITTI's Pedestrian / Cyclist / Car). ``meta['dataset_meta']`` holds the class names (and
palette) of the dataset: ImageNet for 1000 classes, Cityscapes for 19 and CamVid for 11
segmentation classes, COCO for 80 detection classes, the fine-grained sets by their class
counts; ``--dataset`` names it where the class count does not (``--dataset none``: no
class names). The same SRC always gives the same DST bytes (its sha256 is printed), so a
published conversion can be checked or reproduced locally.
SRC_DIR DST_DIR: every checkpoint file below SRC_DIR (e.g. a folder of hub downloads
``timm/dla34.in1k/model.safetensors`` ...; of a folder holding both ``model.safetensors`` and
``pytorch_model.bin``, the same tensors, only the safetensors file) is converted into
DST_DIR under a name told from its content, as the model zoo names them:
``{arch}_{dataset}.pth`` (classifiers, e.g. ``dla34_imagenet.pth``), ``{arch}up_{dataset}.pth``
(DLA-Up), ``centernet_{arch}_{dataset}.pth``, ``smoke_{arch}_{dataset}.pth``; a second source
of the same name gets its file stem appended (earlier runs' files are replaced). A progress
bar shows the files done.
Exits with status 2 and a one-line reason for files that are not (readable) DLA
checkpoints, a directory given for a file, DST equal to SRC, or a dataset that does not fit.
(A single conversion has no progress bar: the largest, dla169 with 214 MB, takes under a
second, most of it reading and writing the files.)
Every tool and config reads these layouts directly too (converted in memory, see
``mmdla.models.checkpoint_io``); this tool writes the converted file, e.g. to publish it.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import torch
from mmengine.utils import ProgressBar

from mmdla.cli import exit_on_input_error
from mmdla.errors import ConfigInputError
from mmdla.models.checkpoint_io import convert_checkpoint, mmdla_checkpoint, read_checkpoint
from mmdla.models.converters import DATASETS, choose_dataset
from mmdla.utils.files import sha256sum

CHECKPOINT_SUFFIXES = ('.pth', '.pt', '.bin', '.safetensors')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument(
        'src',
        help='official, timm or CenterNet DLA checkpoint (.pth, '
        '.bin or .safetensors), or a directory of them')
    parser.add_argument(
        'dst', help='output MMEngine checkpoint (.pth), or a directory when '
        'SRC is one')
    parser.add_argument(
        '--dataset',
        choices=list(DATASETS) + ['none'],
        help='dataset whose class names DST carries (default: told from the '
        'task and the number of classes)')
    return parser.parse_args(argv)


def is_directory_arg(path: str) -> bool:
    """An existing directory, or a new path meant as one (no file extension)."""
    return osp.isdir(path) or path.endswith(os.sep) or (not osp.exists(path)
                                                        and not osp.splitext(path)[1])


def find_checkpoints(src_dir: str) -> List[str]:
    """The checkpoint files below ``src_dir``, sorted; of a hub download folder holding both
    ``model.safetensors`` and ``pytorch_model.bin`` (the same tensors) only the first."""
    found = []
    for root, _, files in os.walk(src_dir):
        names = sorted(f for f in files if f.endswith(CHECKPOINT_SUFFIXES))
        if 'model.safetensors' in names and 'pytorch_model.bin' in names:
            names.remove('pytorch_model.bin')
        found += [osp.join(root, name) for name in names]
    return sorted(found)


def check_paths(src: str, dst: str) -> None:
    """SRC is an existing file, DST a new or replaceable file other than SRC."""
    if osp.isdir(src):
        found = sorted(f for f in os.listdir(src) if f.endswith(CHECKPOINT_SUFFIXES))
        hint = f' (it holds {", ".join(found[:3])})' if found else ''
        raise ConfigInputError(f"SRC '{src}' is a directory{hint}: give the checkpoint file, "
                               f"or a DST directory (not '{dst}') to convert every "
                               'checkpoint below SRC')
    if not osp.isfile(src):
        raise ConfigInputError(f"SRC '{src}' does not exist")
    if osp.isdir(dst) or dst.endswith(os.sep):
        raise ConfigInputError(f"DST '{dst}' is a directory: give the output file name, e.g. "
                               f'{osp.join(dst, "dla34_imagenet.pth")}')
    if osp.exists(dst) and osp.samefile(src, dst):
        raise ConfigInputError(f"DST '{dst}' is SRC: write the converted checkpoint to another "
                               'file (the source would be overwritten)')


def save_checkpoint(checkpoint: dict, dst: str) -> None:
    """Write ``checkpoint`` to ``dst`` atomically (never a truncated DST) and reproducibly:
    saved through a file object, the archive's inner folder is torch's fixed 'archive'
    instead of the file's name, so the bytes depend on the contents only."""
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    tmp = dst + '.tmp'
    with open(tmp, 'wb') as f:
        torch.save(checkpoint, f)
    os.replace(tmp, dst)


def model_zoo_name(task: str, arch: str, dataset: str) -> str:
    """The file name the model zoo gives a converted checkpoint (``dla34_imagenet.pth``)."""
    suffix = '' if dataset == 'none' else f'_{dataset}'
    stem = {
        'classification': arch,
        'segmentation': f'{arch}up',
        'detection': f'centernet_{arch}',
        'mono3d': f'smoke_{arch}',
    }[task]
    return f'{stem}{suffix}.pth'


def convert_file(src: str,
                 dst: Optional[str],
                 dataset_choice: Optional[str],
                 dst_dir: Optional[str] = None,
                 taken: Optional[set] = None) -> str:
    """Convert ``src`` into ``dst`` (or into ``dst_dir`` under :func:`model_zoo_name`, not
    one of the paths ``taken`` by earlier sources of the run, which is updated); returns
    the summary line."""
    result = convert_checkpoint(read_checkpoint(src), src)
    try:
        dataset = choose_dataset(result.task, result.num_classes, dataset_choice)
    except ConfigInputError as exc:
        raise ConfigInputError(f'{exc} (--dataset NAME, or --dataset none)') from None
    if dst is None:
        name = model_zoo_name(result.task, result.arch, dataset)
        dst = osp.join(dst_dir, name)
        if dst in taken:
            stem = osp.splitext(osp.basename(src))[0]
            dst = osp.join(dst_dir, f'{osp.splitext(name)[0]}_{stem}.pth')
        taken.add(dst)
    save_checkpoint(mmdla_checkpoint(result, src, dataset, source_sha256=sha256sum(src)), dst)
    classes = 'no class names' if dataset == 'none' else f'{dataset} class names'
    return (f'dla2mmdla: {src} ({result.source_format} {result.arch} {result.task}, '
            f'{result.num_classes} classes) -> {dst}: {len(result.state_dict)} tensors, '
            f'dropped {len(result.dropped)} unused official tensors, {classes}; '
            f'sha256 {sha256sum(dst)}')


def convert_directory(src_dir: str, dst_dir: str, dataset_choice: Optional[str]) -> List[str]:
    """Convert every checkpoint below ``src_dir`` into ``dst_dir`` with a progress bar;
    returns the summary lines."""
    sources = find_checkpoints(src_dir)
    if not sources:
        raise ConfigInputError(f"SRC '{src_dir}' holds no checkpoint files "
                               f"({', '.join(CHECKPOINT_SUFFIXES)})")
    if osp.exists(dst_dir) and not osp.isdir(dst_dir):
        raise ConfigInputError(f"DST '{dst_dir}' is a file: give a directory for the "
                               'checkpoints converted from the directory SRC')
    os.makedirs(dst_dir, exist_ok=True)
    progress = ProgressBar(len(sources), file=sys.stdout)
    lines, taken = [], set()
    for src in sources:
        lines.append(convert_file(src, None, dataset_choice, dst_dir, taken))
        progress.update()
    print()
    return lines


@exit_on_input_error
def main(argv=None) -> int:
    args = parse_args(argv)
    if osp.isdir(args.src) and is_directory_arg(args.dst):
        lines = convert_directory(args.src, args.dst, args.dataset)
    else:
        check_paths(args.src, args.dst)
        lines = [convert_file(args.src, args.dst, args.dataset)]
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    main()
