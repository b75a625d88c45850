#!/usr/bin/env python
"""Create the ``*_gtFine_labelTrainIds.png`` files mmseg's CityscapesDataset reads.

    python tools/dataset_converters/cityscapes.py data/cityscapes [--nproc 8]

CITYSCAPES_ROOT holds ``leftImg8bit/`` and ``gtFine/`` as downloaded from the Cityscapes
site. For every ``gtFine/**/*_gtFine_polygons.json`` the label image with the 19 training
ids (255 = ignore) is written beside it, using the official ``cityscapesscripts``
(``pip install cityscapesscripts``). A progress bar follows the ~5000 files (as in mmseg's
converter); ``--nproc N`` converts them in N processes.
"""
import argparse
import glob
import importlib.util
import json
import os.path as osp
import sys

from mmengine.utils import track_parallel_progress, track_progress

from mmdla.cli import exit_on_input_error
from mmdla.errors import ConfigInputError, DataError, MissingPackageError


def _convert(json_file):
    """Write ``<name>_gtFine_labelTrainIds.png`` beside ``<name>_gtFine_polygons.json``.

    The file is checked first: cityscapesscripts ends the whole process (``sys.exit``) on
    an unknown label and fails with a bare KeyError on a malformed file.
    """
    from cityscapesscripts.helpers.labels import name2label
    from cityscapesscripts.preparation.json2labelImg import json2labelImg
    try:
        with open(json_file) as f:
            annotation = json.load(f)
        if not (annotation['imgHeight'] > 0 and annotation['imgWidth'] > 0):
            raise ValueError('empty image size')
        labels = [str(obj['label']) for obj in annotation['objects'] if not obj.get('deleted')]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f'{json_file} is not a Cityscapes polygon file '
                        f'({type(exc).__name__}: {exc})') from None
    for label in labels:
        base = label[:-len('group')] if label.endswith('group') else label  # 'cargroup'
        if label not in name2label and base not in name2label:
            raise DataError(f"{json_file}: '{label}' is not a Cityscapes label "
                            "(cityscapesscripts' labels.py)")
    out = json_file.replace('_polygons.json', '_labelTrainIds.png')
    try:
        json2labelImg(json_file, out, 'trainIds')
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise DataError(f'{json_file}: cannot draw its polygons '
                        f'({type(exc).__name__}: {exc})') from None
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
    if importlib.util.find_spec('cityscapesscripts') is None:
        raise MissingPackageError('the conversion needs cityscapesscripts: '
                                  'pip install cityscapesscripts')
    files = sorted(glob.glob(osp.join(gt_dir, '**', '*_gtFine_polygons.json'), recursive=True))
    if not files:
        raise ConfigInputError(f"no *_gtFine_polygons.json under '{gt_dir}': download "
                               'gtFine_trainvaltest.zip and unpack it there')
    if args.nproc > 1:
        track_parallel_progress(_convert, files, args.nproc, file=sys.stdout)
    else:
        track_progress(_convert, files, file=sys.stdout)
    print(f'cityscapes: wrote {len(files)} *_gtFine_labelTrainIds.png files under {gt_dir}')
    return 0


if __name__ == '__main__':
    main()
