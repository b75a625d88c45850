"""Segmentation configs: each loads, builds, and carries the paper's recipe."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmdla.utils import build_model_from_config
from tests.helpers import ROOT
from tests.test_dla_up import CLEAN_PARAMS

SEG_CONFIGS = sorted(
    osp.relpath(p, ROOT) for p in glob.glob(str(ROOT / 'configs/dla*_*.py'))
    if Config.fromfile(p).get('default_scope') == 'mmseg')
CITYSCAPES_MEAN = [0.290101 * 255, 0.328081 * 255, 0.286964 * 255]
CITYSCAPES_STD = [0.182954 * 255, 0.186566 * 255, 0.184475 * 255]


def test_all_expected_configs_exist():
    expected = {f'configs/dla{a}_{d}.py' for a in (34, 60, 102, 169)
                for d in ('cityscapes', 'camvid')} | {'configs/dla34_toy.py'}
    assert expected <= set(SEG_CONFIGS)


@pytest.mark.parametrize('path', SEG_CONFIGS)
def test_config_loads_and_model_builds(path):
    cfg = Config.fromfile(str(ROOT / path))
    assert cfg.custom_imports['imports'] == ['mmdla']
    with torch.device('meta'):
        model = build_model_from_config(cfg, for_analysis=False)
    arch = cfg.model.backbone.arch
    num_classes = cfg.model.decode_head.num_classes
    params = sum(p.numel() for p in model.parameters())
    if arch in CLEAN_PARAMS and num_classes in (19, 11):
        assert params == CLEAN_PARAMS[arch][0 if num_classes == 19 else 1]
    assert cfg.tta_model.type == 'DLASegTTAModel'
    resizes = cfg.tta_pipeline[1]['transforms'][0]
    assert [t['scale_factor'] for t in resizes] == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert not any(t['type'] == 'RandomFlip' for step in cfg.tta_pipeline[1]['transforms']
                   for t in step)  # the paper's test has no flip


@pytest.mark.parametrize('arch', [34, 60, 102, 169])
def test_cityscapes_recipe(arch):
    cfg = Config.fromfile(str(ROOT / f'configs/dla{arch}_cityscapes.py'))
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9,
                                               weight_decay=1e-4)
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 500
    poly, = cfg.param_scheduler
    assert (poly.type, poly.power, poly.end, poly.by_epoch) == ('PolyLR', 0.9, 500, True)
    assert cfg.train_dataloader.batch_size * 8 == 16 == cfg.auto_scale_lr.base_batch_size
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.decode_head.norm_cfg.type == 'SyncBN'
    assert cfg.model.data_preprocessor.size == (832, 832)
    assert cfg.model.data_preprocessor.mean == pytest.approx(CITYSCAPES_MEAN)
    assert cfg.model.data_preprocessor.std == pytest.approx(CITYSCAPES_STD)
    steps = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert steps['RandomRotate']['degree'] == 10 and steps['RandomRotate']['prob'] == 1.0
    assert steps['RandomResize']['ratio_range'] == (0.5, 2.0)
    assert steps['RandomCrop']['crop_size'] == (832, 832)
    assert steps['RandomFlip']['prob'] == 0.5
    assert steps['ColorJitter']['brightness'] == 0.4
    assert cfg.model.decode_head.num_classes == 19
    assert cfg.model.decode_head.loss_decode.avg_non_ignore
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    assert init.checkpoint == f'checkpoints/dla{arch}_imagenet.pth'


@pytest.mark.parametrize('arch', [34, 60, 102, 169])
def test_camvid_recipe(arch):
    cfg = Config.fromfile(str(ROOT / f'configs/dla{arch}_camvid.py'))
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.train_cfg.max_epochs == 1200
    step, = cfg.param_scheduler
    assert (step.type, step.milestones, step.gamma) == ('MultiStepLR', [800], 0.1)
    assert cfg.model.decode_head.num_classes == 11
    assert cfg.model.data_preprocessor.size == (448, 448)
    assert cfg.train_dataloader.dataset.type == 'CamVidDataset'
    crop = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'RandomCrop']
    assert crop[0]['crop_size'] == (448, 448)
    assert cfg.test_dataloader.dataset.data_prefix.img_path == 'img_dir/test'
