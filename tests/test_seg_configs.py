"""Segmentation configs: each loads, builds, and carries the paper's recipe."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmdla import reference
from tests.helpers import ROOT

SEG_CONFIGS = sorted(
    osp.relpath(p, ROOT) for p in glob.glob(str(ROOT / 'configs/dla*_*.py'))
    if Config.fromfile(p).get('default_scope') == 'mmseg')
CITYSCAPES = reference.CITYSCAPES_RECIPE
CAMVID = reference.CAMVID_RECIPE


def test_all_expected_configs_exist():
    expected = {
        f'configs/dla{a}_{d}.py'
        for a in (34, 60, 102, 169)
        for d in ('cityscapes', 'camvid')
    } | {'configs/dla34_toy.py'}
    assert expected <= set(SEG_CONFIGS)


@pytest.mark.parametrize('path', SEG_CONFIGS)
def test_config_has_the_papers_multi_scale_test(path):
    cfg = Config.fromfile(str(ROOT / path))
    assert cfg.custom_imports['imports'] == ['mmdla']
    assert cfg.tta_model.type == 'DLASegTTAModel'
    resizes = cfg.tta_pipeline[1]['transforms'][0]
    assert tuple(t['scale_factor'] for t in resizes) == reference.TTA_SCALES
    assert not any(t['type'] == 'RandomFlip' for step in cfg.tta_pipeline[1]['transforms']
                   for t in step)  # the paper's test has no flip


@pytest.mark.parametrize('arch', [34, 60, 102, 169])
def test_cityscapes_recipe(arch):
    cfg = Config.fromfile(str(ROOT / f'configs/dla{arch}_cityscapes.py'))
    assert cfg.optim_wrapper.optimizer == CITYSCAPES['optimizer']
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert cfg.train_cfg.max_epochs == CITYSCAPES['epochs']
    poly, = cfg.param_scheduler
    assert (poly.type, poly.power, poly.end, poly.by_epoch) == ('PolyLR', CITYSCAPES['poly_power'],
                                                                CITYSCAPES['epochs'], True)
    assert (cfg.train_dataloader.batch_size * 8 == CITYSCAPES['batch_size'] ==
            cfg.auto_scale_lr.base_batch_size)
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.decode_head.norm_cfg.type == 'SyncBN'
    crop = (CITYSCAPES['crop'], ) * 2
    assert cfg.model.data_preprocessor.size == crop
    assert cfg.model.data_preprocessor.mean == pytest.approx(
        [v * 255 for v in reference.CITYSCAPES_MEAN])
    assert cfg.model.data_preprocessor.std == pytest.approx(
        [v * 255 for v in reference.CITYSCAPES_STD])
    steps = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert steps['RandomRotate']['degree'] == CITYSCAPES['rotation']
    assert steps['RandomRotate']['prob'] == 1.0
    assert steps['RandomResize']['ratio_range'] == CITYSCAPES['scale_range']
    assert steps['RandomCrop']['crop_size'] == crop
    assert steps['RandomFlip']['prob'] == 0.5
    assert steps['ColorJitter']['brightness'] == CITYSCAPES['color_jitter']
    assert cfg.model.decode_head.num_classes == CITYSCAPES['num_classes']
    assert cfg.model.decode_head.loss_decode.avg_non_ignore
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    assert init.checkpoint == f'hf-hub:timm/dla{arch}.in1k'


@pytest.mark.parametrize('arch', [34, 60, 102, 169])
def test_camvid_recipe(arch):
    cfg = Config.fromfile(str(ROOT / f'configs/dla{arch}_camvid.py'))
    assert cfg.optim_wrapper.optimizer == CAMVID['optimizer']
    assert cfg.train_cfg.max_epochs == CAMVID['epochs']
    step, = cfg.param_scheduler
    assert (step.type, step.milestones, step.gamma) == ('MultiStepLR', CAMVID['milestones'],
                                                        CAMVID['gamma'])
    assert cfg.model.decode_head.num_classes == CAMVID['num_classes']
    assert cfg.model.data_preprocessor.size == (CAMVID['crop'], ) * 2
    assert cfg.train_dataloader.dataset.type == 'CamVidDataset'
    crop = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'RandomCrop']
    assert crop[0]['crop_size'] == (CAMVID['crop'], ) * 2
    assert (cfg.train_dataloader.batch_size * 8 == CAMVID['batch_size'] ==
            cfg.auto_scale_lr.base_batch_size)
    assert cfg.test_dataloader.dataset.data_prefix.img_path == 'img_dir/test'
