"""tools/dataset_converters/cityscapes.py: Cityscapes polygons -> *_labelTrainIds.png with
the official cityscapesscripts, on a tiny gtFine tree written here (Cityscapes layout)."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.helpers import ROOT, load_tool, run_and_expect_error

converter = load_tool('tools/dataset_converters/cityscapes.py')

H, W = 32, 64


def box(x0, y0, x1, y1):
    """A rectangle as a Cityscapes polygon ([x, y] corners)."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


#: drawn in this order (later objects over earlier ones), as in the Cityscapes annotations
SCENES = {
    ('train', 'aachen'): [
        dict(label='sky', polygon=box(0, 0, 63, 10)),
        dict(label='road', polygon=box(0, 16, 63, 31)),
        dict(label='car', polygon=box(10, 18, 30, 26)),
        dict(label='license plate', polygon=box(15, 22, 20, 24)),  # id -1: not drawn
        dict(label='persongroup', polygon=box(40, 18, 50, 22)),  # -> person
        dict(label='ego vehicle', polygon=box(0, 28, 63, 31)),
        dict(label='no such class', polygon=box(0, 0, 63, 31), deleted=1),  # skipped
    ],
    ('val', 'frankfurt'): [
        dict(label='building', polygon=box(0, 0, 63, 20)),
        dict(label='sidewalk', polygon=box(0, 21, 63, 31)),
    ],
}
#: (split, city) -> {(row, col): trainId}; rows 11..15 of aachen are unlabeled (255)
EXPECTED = {
    ('train', 'aachen'): {
        (5, 32): 10,
        (13, 32): 255,
        (20, 5): 0,
        (27, 5): 0,
        (20, 12): 13,
        (23, 17): 13,
        (20, 45): 11,
        (30, 32): 255
    },
    ('val', 'frankfurt'): {
        (10, 10): 2,
        (26, 50): 1
    },
}


def stem(split, city):
    return f'{city}_000000_000019'


def write_gtfine(root, scenes=SCENES):
    """``root/gtFine/<split>/<city>/<city>_000000_000019_gtFine_polygons.json`` files (and
    the matching leftImg8bit images)."""
    for (split, city), objects in scenes.items():
        folder = root / 'gtFine' / split / city
        folder.mkdir(parents=True)
        (folder / f'{stem(split, city)}_gtFine_polygons.json').write_text(
            json.dumps(dict(imgHeight=H, imgWidth=W, objects=objects)))
        images = root / 'leftImg8bit' / split / city
        images.mkdir(parents=True)
        cv2.imwrite(
            str(images / f'{stem(split, city)}_leftImg8bit.png'), np.zeros((H, W, 3), np.uint8))


def label_map(root, split, city):
    path = root / 'gtFine' / split / city / f'{stem(split, city)}_gtFine_labelTrainIds.png'
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_converter_writes_train_ids(tmp_path, capsys):
    write_gtfine(tmp_path)
    assert converter.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert '2/2' in out  # mmengine's progress bar
    assert f"wrote 2 *_gtFine_labelTrainIds.png files under {tmp_path / 'gtFine'}" in out
    for (split, city), pixels in EXPECTED.items():
        labels = label_map(tmp_path, split, city)
        assert labels.shape == (H, W) and labels.dtype == np.uint8
        assert {p: int(labels[p]) for p in pixels} == pixels, (split, city)
    # only the label images are added (no split lists)
    written = sorted(
        p.relative_to(tmp_path).as_posix() for p in (tmp_path / 'gtFine').rglob('*') if p.is_file())
    assert written == [
        'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png',
        'gtFine/train/aachen/aachen_000000_000019_gtFine_polygons.json',
        'gtFine/val/frankfurt/frankfurt_000000_000019_gtFine_labelTrainIds.png',
        'gtFine/val/frankfurt/frankfurt_000000_000019_gtFine_polygons.json'
    ]
    # the names mmseg's CityscapesDataset pairs with the images
    from mmseg.datasets import CityscapesDataset
    dataset = CityscapesDataset(
        data_root=str(tmp_path),
        pipeline=[],
        data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'))
    assert len(dataset) == 1
    assert dataset.get_data_info(0)['seg_map_path'].endswith(
        'aachen_000000_000019_gtFine_labelTrainIds.png')


@pytest.mark.slow
def test_parallel_conversion_matches(tmp_path):
    """--nproc 2 (track_parallel_progress in worker processes): the same label images."""
    serial, parallel = tmp_path / 'serial', tmp_path / 'parallel'
    write_gtfine(serial)
    write_gtfine(parallel)
    converter.main([str(serial)])
    proc = subprocess.run(
        [sys.executable, 'tools/dataset_converters/cityscapes.py',
         str(parallel), '--nproc', '2'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '2/2' in proc.stdout and 'wrote 2 ' in proc.stdout
    for split, city in SCENES:
        np.testing.assert_array_equal(
            label_map(parallel, split, city), label_map(serial, split, city))


def test_converter_errors(tmp_path, capsys):
    err = run_and_expect_error(converter, [str(tmp_path / 'nowhere')], capsys)
    assert f"'{tmp_path / 'nowhere' / 'gtFine'}' not found" in err
    (tmp_path / 'empty' / 'gtFine' / 'train').mkdir(parents=True)
    err = run_and_expect_error(converter, [str(tmp_path / 'empty')], capsys)
    assert 'no *_gtFine_polygons.json under' in err and 'gtFine_trainvaltest.zip' in err

    # cityscapesscripts itself would sys.exit(-1) (unknown label) or raise a bare KeyError
    unknown = tmp_path / 'unknown'
    write_gtfine(unknown, {('train', 'aachen'): [dict(label='spaceship', polygon=box(0, 0, 5, 5))]})
    err = run_and_expect_error(converter, [str(unknown)], capsys)
    assert "aachen_000000_000019_gtFine_polygons.json: 'spaceship' is not a Cityscapes " \
           'label' in err
    broken = tmp_path / 'broken'
    write_gtfine(broken, {('val', 'lindau'): []})
    (broken / 'gtFine/val/lindau/lindau_000000_000019_gtFine_polygons.json').write_text(
        json.dumps(dict(imgWidth=W, objects=[])))
    err = run_and_expect_error(converter, [str(broken)], capsys)
    assert 'lindau_000000_000019_gtFine_polygons.json is not a Cityscapes polygon file ' \
           "(KeyError: 'imgHeight')" in err
