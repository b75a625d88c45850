#!/usr/bin/env python
"""Create the ``*_gtFine_labelTrainIds.png`` files mmseg's CityscapesDataset reads.

    python tools/dataset_converters/cityscapes.py data/cityscapes [--nproc 8]

CITYSCAPES_ROOT holds ``leftImg8bit/`` and ``gtFine/`` as downloaded from the Cityscapes
site. For every ``gtFine/**/*_gtFine_polygons.json`` the label image with the 19 training
ids (255 = ignore) is written beside it, using the official ``cityscapesscripts``
(``pip install cityscapesscripts``).
"""
import argparse
import glob
import os.path as osp
from multiprocessing import Pool

from mmdla.errors import ConfigInputError, exit_on_input_error


def _convert(json_file):
    from cityscapesscripts.preparation.json2labelImg import json2labelImg
    out = json_file.replace('_polygons.json', '_labelTrainIds.png')
    json2labelImg(json_file, out, 'trainIds')
    return out


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description='Cityscapes polygons -> labelTrainIds')
    parser.add_argument('cityscapes_root')
    parser.add_argument('--nproc', type=int, default=1)
    args = parser.parse_args(argv)
    gt_dir = osp.join(args.cityscapes_root, 'gtFine')
    if not osp.isdir(gt_dir):
        raise ConfigInputError(f"'{gt_dir}' not found (expected CITYSCAPES_ROOT/gtFine and "
                               'leftImg8bit from the Cityscapes download)')
    try:
        import cityscapesscripts  # noqa: F401
    except ImportError:
        raise ConfigInputError('the conversion needs cityscapesscripts: '
                               'pip install cityscapesscripts') from None
    files = sorted(glob.glob(osp.join(gt_dir, '**', '*_gtFine_polygons.json'),
                             recursive=True))
    if not files:
        raise ConfigInputError(f"no *_gtFine_polygons.json under '{gt_dir}': download "
                               'gtFine_trainvaltest.zip and unpack it there')
    if args.nproc > 1:
        with Pool(args.nproc) as pool:
            pool.map(_convert, files)
    else:
        for f in files:
            _convert(f)
    print(f'cityscapes: wrote {len(files)} *_gtFine_labelTrainIds.png files under {gt_dir}')
    return 0


if __name__ == '__main__':
    main()
