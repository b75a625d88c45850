"""Segmentation data: CamVid dataset + converter, ColorJitter, toy data generator."""
import random

import cv2
import numpy as np
import pytest

from tests.helpers import load_tool, run_and_expect_error

camvid_converter = load_tool('tools/dataset_converters/camvid.py')
make_toy_data = load_tool('tools/misc/make_toy_data.py')


def make_camvid_sample(root, counts=dict(train=3, val=2, test=1), h=24, w=32):
    """A tiny CamVid in SegNet's layout: labels 0..10 and void 11."""
    rng = np.random.default_rng(0)
    for split, n in counts.items():
        (root / split).mkdir(parents=True)
        (root / f'{split}annot').mkdir()
        for i in range(n):
            name = f'{split}_{i:03d}.png'
            cv2.imwrite(str(root / split / name), rng.integers(0, 255, (h, w, 3), np.uint8))
            label = rng.integers(0, 12, (h, w)).astype(np.uint8)
            cv2.imwrite(str(root / f'{split}annot' / name), label)


def test_camvid_converter_and_dataset(tmp_path):
    src, out = tmp_path / 'CamVid', tmp_path / 'camvid'
    make_camvid_sample(src)
    assert camvid_converter.main([str(src), '-o', str(out)]) == 0
    original = cv2.imread(str(src / 'trainannot/train_000.png'), cv2.IMREAD_UNCHANGED)
    converted = cv2.imread(str(out / 'ann_dir/train/train_000.png'), cv2.IMREAD_UNCHANGED)
    assert (converted[original == 11] == 255).all()
    assert (converted[original < 11] == original[original < 11]).all()

    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = DATASETS.build(
            dict(
                type='CamVidDataset',
                data_root=str(out),
                data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations'),
                    dict(type='PackSegInputs')
                ]))
    assert len(dataset) == 2
    assert len(dataset.metainfo['classes']) == 11 and dataset.metainfo['classes'][3] == 'road'
    assert len(dataset.metainfo['palette']) == 11
    sample = dataset[0]
    labels = sample['data_samples'].gt_sem_seg.data
    assert labels.shape == (1, 24, 32)
    assert set(labels.unique().tolist()) <= set(range(11)) | {255}


def test_camvid_converter_errors(tmp_path, capsys):
    src = tmp_path / 'CamVid'
    make_camvid_sample(src)
    cv2.imwrite(str(src / 'valannot/val_001.png'), np.full((24, 32), 40, np.uint8))
    err = run_and_expect_error(camvid_converter, [str(src), '-o', str(tmp_path / 'o')], capsys)
    assert 'val_001.png: label value 40 is not a CamVid class' in err
    err = run_and_expect_error(
        camvid_converter,
        [str(tmp_path / 'nowhere'), '-o', str(tmp_path / 'o')], capsys)
    assert "nowhere/train' not found" in err


def test_color_jitter_ranges_and_identity():
    from mmdla.datasets import ColorJitter
    img = np.random.default_rng(0).integers(0, 255, (16, 16, 3), np.uint8)
    out = ColorJitter(0, 0, 0).transform(dict(img=img.copy()))['img']
    assert np.array_equal(out, img)
    random.seed(0)
    brightness = ColorJitter(brightness=0.4, contrast=0, saturation=0)
    flat = np.full((4, 4, 3), 100, np.uint8)
    values = {int(brightness.transform(dict(img=flat.copy()))['img'][0, 0, 0]) for _ in range(200)}
    assert min(values) >= 60 and max(values) <= 140 and len(values) > 20
    saturation = ColorJitter(brightness=0, contrast=0, saturation=0.4)
    grey = np.full((4, 4, 3), 77, np.uint8)  # no colour: saturation changes nothing
    assert np.array_equal(saturation.transform(dict(img=grey.copy()))['img'], grey)
    with pytest.raises(ValueError, match='brightness must be in'):
        ColorJitter(brightness=1.5)


def test_toy_data_is_deterministic_and_cityscapes_shaped(tmp_path):
    make_toy_data.main([
        str(tmp_path / 'a'), '--num-train', '2', '--num-val', '1', '--seed', '3', '--size', '64',
        '128'
    ])
    make_toy_data.main([
        str(tmp_path / 'b'), '--num-train', '2', '--num-val', '1', '--seed', '3', '--size', '64',
        '128'
    ])
    name = 'toycity_000001_000019'
    for sub, suffix in [('leftImg8bit/train/toycity', '_leftImg8bit.png'),
                        ('gtFine/train/toycity', '_gtFine_labelTrainIds.png')]:
        a = cv2.imread(str(tmp_path / 'a' / sub / (name + suffix)), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(tmp_path / 'b' / sub / (name + suffix)), cv2.IMREAD_UNCHANGED)
        assert a.shape[:2] == (64, 128) and np.array_equal(a, b)
    label = cv2.imread(
        str(tmp_path / 'a/gtFine/train/toycity' / (name + '_gtFine_labelTrainIds.png')),
        cv2.IMREAD_UNCHANGED)
    values = set(np.unique(label).tolist())
    assert values <= set(range(19)) | {255}
    assert {0, 1, 2, 10} <= values  # road, sidewalk, building, sky in every scene
