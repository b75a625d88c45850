"""Classification configs: each loads, builds, and carries the recipe."""
import pytest
import torch
from mmengine.config import Config

from mmdla import reference
from mmdla.models import DLA
from mmdla.utils import build_model_from_config
from tests.helpers import ROOT

ARCHS = list(DLA.arch_settings)
FINE_GRAINED = reference.FINE_GRAINED_CLASSES
IMAGENET = reference.IMAGENET_RECIPE
FINETUNE = reference.FINETUNE_RECIPE


def steps(pipeline):
    return {t['type']: t for t in pipeline}


def check_common_augmentation(cfg):
    train = steps(cfg.train_dataloader.dataset.pipeline)
    assert train['RandomResizedCrop']['scale'] == IMAGENET['crop']
    assert train['RandomResizedCrop']['crop_ratio_range'] == IMAGENET['crop_area']
    assert train['RandomResizedCrop']['aspect_ratio_range'] == pytest.approx(
        IMAGENET['aspect_ratio'])
    assert train['RandomFlip']['prob'] == 0.5
    assert train['PCALighting']['alphastd'] == IMAGENET['lighting_std']
    test = steps(cfg.val_dataloader.dataset.pipeline)
    assert (test['ResizeEdge']['scale'], test['ResizeEdge']['edge']) == (IMAGENET['test_resize'],
                                                                         'short')
    assert test['CenterCrop']['crop_size'] == IMAGENET['crop']
    assert cfg.data_preprocessor.mean == pytest.approx([v * 255 for v in reference.IMAGENET_MEAN])
    assert cfg.data_preprocessor.std == pytest.approx([v * 255 for v in reference.IMAGENET_STD])
    assert cfg.data_preprocessor.to_rgb


@pytest.mark.parametrize('arch', ARCHS)
def test_imagenet_config(arch):
    cfg = Config.fromfile(str(ROOT / f'configs/{arch}_imagenet.py'))
    assert cfg.default_scope == 'mmpretrain' and cfg.custom_imports['imports'] == ['mmdla']
    assert cfg.optim_wrapper.optimizer == IMAGENET['optimizer']
    assert cfg.train_cfg.max_epochs == IMAGENET['epochs']
    assert (cfg.param_scheduler.type, cfg.param_scheduler.milestones,
            cfg.param_scheduler.gamma) == ('MultiStepLR', IMAGENET['milestones'], IMAGENET['gamma'])
    assert (cfg.train_dataloader.batch_size * 8 == IMAGENET['batch_size'] ==
            cfg.auto_scale_lr.base_batch_size)
    assert cfg.val_evaluator == dict(type='Accuracy', topk=(1, 5))
    check_common_augmentation(cfg)
    with torch.device('meta'):
        model = build_model_from_config(cfg)
    assert model.backbone.arch == arch and model.backbone.out_indices == (5, )
    assert model.head.num_classes == 1000
    assert model.head.fc.in_features == DLA.arch_settings[arch]['channels'][-1]


@pytest.mark.parametrize('dataset', list(FINE_GRAINED))
@pytest.mark.parametrize('arch', ['dla34', 'dla60', 'dla102x'])
def test_fine_grained_config(arch, dataset):
    cfg = Config.fromfile(str(ROOT / f'configs/{arch}_{dataset}.py'))
    assert cfg.optim_wrapper.optimizer == FINETUNE['optimizer']
    assert cfg.train_cfg.max_epochs == FINETUNE['epochs']
    assert (cfg.param_scheduler.milestones, cfg.param_scheduler.gamma) == (FINETUNE['milestones'],
                                                                           FINETUNE['gamma'])
    assert (cfg.train_dataloader.batch_size * 8 == FINETUNE['batch_size'] ==
            cfg.auto_scale_lr.base_batch_size)
    check_common_augmentation(cfg)
    init = cfg.model.backbone.init_cfg
    assert (init.type, init.checkpoint, init.prefix) == ('Pretrained', f'hf-hub:timm/{arch}.in1k',
                                                         'backbone.')
    with torch.device('meta'):
        model = build_model_from_config(cfg)
    assert model.head.num_classes == FINE_GRAINED[dataset] == cfg.data_preprocessor.num_classes
    assert model.backbone.arch == arch


def test_pca_lighting_matches_the_official_formula():
    import numpy as np

    from mmdla.datasets import PCALighting
    np.random.seed(0)
    img = np.full((2, 2, 3), 100, np.uint8)  # BGR
    out = PCALighting(alphastd=0.1).transform(dict(img=img.copy()))['img']
    np.random.seed(0)
    alpha = np.random.normal(0, 0.1, size=3).astype(np.float32)
    eigval = np.array(reference.PCA_EIGVAL, np.float32)
    eigvec = np.array(PCALighting.IMAGENET_EIGVEC, np.float32)
    rgb_offset = (eigvec * alpha[None] * eigval[None]).sum(1)  # official Lighting
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0], 100 + rgb_offset[::-1], rtol=1e-6)  # BGR image
