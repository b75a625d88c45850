#!/usr/bin/env python
"""Convert the common public CamVid layout (SegNet's) into mmdla's CamVid layout.

    python tools/dataset_converters/camvid.py SRC [-o data/camvid] [--link]

SRC holds ``train/ trainannot/ val/ valannot/ test/ testannot/`` with RGB frames and label
PNGs of the same file names; labels are 0..10 for the 11 classes and 11 for void. Output::

    OUT/img_dir/{train,val,test}/NAME.png   (copied, or symlinked with --link)
    OUT/ann_dir/{train,val,test}/NAME.png   (void 11 -> 255)

Any label value other than 0..11 (and 255) is an error naming the file and the value. A
progress bar per split follows the conversion.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
from functools import partial

import cv2
import numpy as np
from mmengine.utils import track_progress

from mmdla.cli import exit_on_input_error
from mmdla.errors import DataError

SPLITS = ('train', 'val', 'test')
VOID = 11


def convert_label(path: str) -> np.ndarray:
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if label is None:
        raise DataError(f'cannot read label image {path} (corrupt or not an image)')
    if label.ndim != 2:
        raise DataError(f'{path}: label images must have one channel, got shape '
                        f'{label.shape}')
    bad = np.setdiff1d(np.unique(label), np.r_[np.arange(VOID + 1), 255])
    if bad.size:
        raise DataError(f'{path}: label value {int(bad[0])} is not a CamVid class '
                        f'(0..10) or void ({VOID})')
    out = label.astype(np.uint8)
    out[out == VOID] = 255
    return out


def convert_pair(name: str, dirs: tuple, link: bool) -> None:
    """Convert the label ``name`` and copy (or link) its image; ``dirs``: the source image
    and label directories and the output image and label directories."""
    img_src, ann_src, img_out, ann_out = dirs
    cv2.imwrite(osp.join(ann_out, name), convert_label(osp.join(ann_src, name)))
    target = osp.join(img_out, name)
    if link:
        if osp.lexists(target):
            os.remove(target)
        os.symlink(osp.abspath(osp.join(img_src, name)), target)
    else:
        shutil.copyfile(osp.join(img_src, name), target)


def convert(src: str, out: str, link: bool = False) -> dict:
    counts = {}
    for split in SPLITS:
        img_src, ann_src = osp.join(src, split), osp.join(src, split + 'annot')
        for d in (img_src, ann_src):
            if not osp.isdir(d):
                raise DataError(f"'{d}' not found: SRC must hold train/, trainannot/, "
                                'val/, valannot/, test/ and testannot/')
        names = sorted(f for f in os.listdir(img_src) if f.lower().endswith('.png'))
        if not names:
            raise DataError(f"'{img_src}' has no .png images")
        missing = [n for n in names if not osp.isfile(osp.join(ann_src, n))]
        if missing:
            raise DataError(f'{len(missing)} image(s) of {split} have no label in '
                            f'{ann_src}, e.g. {missing[0]}')
        img_out, ann_out = osp.join(out, 'img_dir', split), osp.join(out, 'ann_dir', split)
        os.makedirs(img_out, exist_ok=True)
        os.makedirs(ann_out, exist_ok=True)
        print(f'camvid: {split} ({len(names)} images)')
        track_progress(
            partial(convert_pair, dirs=(img_src, ann_src, img_out, ann_out), link=link),
            names,
            file=sys.stdout)
        counts[split] = len(names)
    return counts


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description='CamVid (SegNet layout) -> mmdla layout')
    parser.add_argument('src', help='CamVid root with train/ trainannot/ val/ ...')
    parser.add_argument('-o', '--out-dir', default='data/camvid')
    parser.add_argument('--link', action='store_true', help='symlink images, do not copy')
    args = parser.parse_args(argv)
    counts = convert(args.src, args.out_dir, args.link)
    print('camvid: ' + ', '.join(f'{n} {s}'
                                 for s, n in counts.items()) + f' images -> {args.out_dir}')
    return 0


if __name__ == '__main__':
    main()
