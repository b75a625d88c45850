"""DLA backbone: parameter counts, shapes, options, registries, errors."""
import copy

import pytest
import torch
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from mmdla.errors import ArchError, ShapeError
from mmdla.models import DLA
from mmdla.reference import IMAGENET

BACKBONE_PARAMS = {arch: facts.backbone_params for arch, facts in IMAGENET.items()}


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def test_the_ten_archs_are_the_spec_table():
    assert list(DLA.arch_settings) == list(BACKBONE_PARAMS)


@pytest.mark.parametrize('arch', list(BACKBONE_PARAMS))
def test_parameter_count(arch):
    with torch.device('meta'):
        model = DLA(arch)
    assert num_params(model) == BACKBONE_PARAMS[arch]


@pytest.mark.parametrize('arch,size', [('dla34', (224, 224)), ('dla46x_c', (97, 131)),
                                       ('dla34', (97, 131)), ('dla60', (32, 32)),
                                       ('dla102x2', (65, 33))])
def test_output_shapes_and_strides(arch, size):
    model = DLA(arch).eval()
    h, w = size
    with torch.no_grad():
        outs = model(torch.randn(1, 3, h, w))
    channels = DLA.arch_settings[arch]['channels']
    assert len(outs) == 6
    for i, out in enumerate(outs):
        stride = 2**i
        assert out.shape == (1, channels[i], -(-h // stride), -(-w // stride))


def test_out_indices_selects_levels_and_out_channels():
    model = DLA('dla34', out_indices=(5, 2, -3)).eval()  # any order, negative allowed
    assert model.out_indices == (2, 3, 5)
    assert model.out_channels == (64, 128, 512)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1:] for o in outs] == [(64, 16, 16), (128, 8, 8), (512, 2, 2)]


def test_every_parameter_gets_a_gradient():
    """DDP without find_unused_parameters needs it (no dead `project` modules)."""
    model = DLA('dla102', out_indices=(0, 1, 2, 3, 4, 5))
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.mean() for o in outs).backward()
    without = [n for n, p in model.named_parameters() if p.grad is None]
    assert without == []


@pytest.mark.parametrize('frozen_stages', [0, 2, 5])
def test_frozen_stages(frozen_stages):
    model = DLA('dla34', frozen_stages=frozen_stages)
    model.train()
    frozen = ['base_layer'] + [f'level{i}' for i in range(frozen_stages + 1)]
    for name, param in model.named_parameters():
        assert param.requires_grad is not (name.split('.')[0] in frozen), name
    for name, module in model.named_modules():
        if isinstance(module, _BatchNorm):
            assert module.training is not (name.split('.')[0] in frozen), name
    # frozen BN statistics must not move in training mode
    before = model.base_layer[1].running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    assert torch.equal(model.base_layer[1].running_mean, before)


def test_group_norm_groups_fit_every_level():
    """norm_cfg GN with 32 groups (SMOKE's DLA-34): 16 groups on the 16-channel stem and
    level0, 32 elsewhere; the same parameters as with BN (GN keeps no running stats)."""
    model = DLA('dla34', norm_cfg=dict(type='GN', num_groups=32))
    groups = {
        name: m.num_groups
        for name, m in model.named_modules() if isinstance(m, torch.nn.GroupNorm)
    }
    assert groups['base_layer.1'] == groups['level0.1'] == 16
    assert {g for name, g in groups.items() if name.startswith(('level2', 'level5'))} == {32}
    bn = DLA('dla34')
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in bn.parameters())
    assert tuple(model(torch.rand(1, 3, 64, 64))[-1].shape) == (1, 512, 2, 2)


def test_norm_eval_keeps_bn_in_eval_after_train():
    model = DLA('dla46_c', norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    assert model.training
    model_no = DLA('dla46_c', norm_eval=False).train()
    assert all(m.training for m in model_no.modules() if isinstance(m, _BatchNorm))


@pytest.mark.parametrize('arch', ['dla34', 'dla60x_c', 'dla60_res2next'])
def test_with_cp_same_outputs_and_grads(arch):
    torch.manual_seed(1)
    plain = DLA(arch)
    plain.init_weights()
    ckpt = copy.deepcopy(plain)
    for m in ckpt.modules():
        if hasattr(m, 'with_cp'):
            m.with_cp = True
    assert DLA(arch, with_cp=True).level3.tree1.tree1.with_cp
    x = torch.randn(2, 3, 64, 96)
    outs_a = plain(x)
    outs_b = ckpt(x)
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    sum((o**2).mean() for o in outs_a).backward()
    sum((o**2).mean() for o in outs_b).backward()
    grads_b = dict(ckpt.named_parameters())
    for name, p in plain.named_parameters():
        assert p.grad is not None, name  # DDP without find_unused_parameters
        torch.testing.assert_close(p.grad, grads_b[name].grad, rtol=1e-5, atol=1e-7)


def test_official_init_statistics():
    model = DLA('dla34')
    model.init_weights()
    conv = model.level5.tree1.conv1  # 3x3, 512 out: std sqrt(2 / (9 * 512))
    expected = (2.0 / (9 * 512))**0.5
    assert abs(conv.weight.std().item() - expected) / expected < 0.02
    bn = model.level5.root.bn
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_custom_arch_dict():
    arch = dict(
        levels=(1, 1, 1, 1, 1, 1),
        channels=(8, 16, 32, 32, 64, 64),
        block='bottleneckx',
        cardinality=8,
        residual_root=True)
    model = DLA(arch, in_channels=1).eval()
    outs = model(torch.randn(1, 1, 40, 40))
    assert [o.shape[1] for o in outs] == [8, 16, 32, 32, 64, 64]
    assert outs[-1].shape[-2:] == (2, 2)


def test_in_channels_mismatch_is_a_clear_error():
    with pytest.raises(ShapeError, match=r'in_channels=3.*\(1, 4, 64, 64\)'):
        DLA('dla34')(torch.randn(1, 4, 64, 64))


def test_unknown_arch_lists_valid_ones_and_suggests():
    with pytest.raises(ArchError) as info:
        DLA('dla35')
    msg = str(info.value)
    assert "Unknown DLA arch 'dla35'" in msg and "Did you mean 'dla34'" in msg
    assert all(name in msg for name in BACKBONE_PARAMS)


@pytest.mark.parametrize('out_indices', [(6, ), (), (0, 1.5), (-7, )])
def test_bad_out_indices(out_indices):
    with pytest.raises(ArchError, match='out_indices must be a non-empty sequence'):
        DLA('dla34', out_indices=out_indices)


@pytest.mark.parametrize('frozen_stages', [6, -2])
def test_bad_frozen_stages(frozen_stages):
    with pytest.raises(ArchError, match='frozen_stages must be an int in -1..5'):
        DLA('dla34', frozen_stages=frozen_stages)


@pytest.mark.parametrize('arch,match', [
    (dict(levels=(1, 1, 1, 2, 2), channels=(16, 32, 64, 128, 256, 512),
          block='basic'), r"arch\['levels'\] must be 6 positive ints"),
    (dict(levels=(1, 1, 1, 2, 2, 1), channels=(16, 32, 64, 128, 256, 512),
          block='resnet'), r"arch\['block'\] must be one of"),
    (dict(levels=(1, 1, 1, 2, 2, 1), block='basic'), 'needs keys'),
    (dict(
        levels=(1, 1, 1, 1, 1, 1),
        channels=(8, 16, 16, 32, 32, 64),
        block='bottleneckx',
        cardinality=8), 'bottleneck width of 4, which must be a positive multiple'),
])
def test_bad_custom_arch(arch, match):
    with pytest.raises(ArchError, match=match):
        DLA(arch)


REGISTRY_SCRIPT = """
import sys
from mmengine.config import Config
assert 'mmdla' not in sys.modules
for path in sys.argv[1:]:
    cfg = Config.fromfile(path)  # imports cfg.custom_imports, i.e. mmdla
    registry = __import__(cfg.default_scope + '.registry', fromlist=['MODELS']).MODELS
    model = registry.build(cfg.backbone)
    print(cfg.default_scope, type(model).__module__, type(model).__name__, model.out_channels)
"""


@pytest.mark.slow
def test_builds_from_mmpretrain_and_mmseg_configs_with_custom_imports(tmp_path):
    """In a fresh interpreter: only the config's custom_imports brings mmdla in."""
    import subprocess
    import sys
    paths = []
    for scope in ('mmpretrain', 'mmseg'):
        path = tmp_path / f'{scope}_cfg.py'
        path.write_text(f"default_scope = '{scope}'\n"
                        "custom_imports = dict(imports=['mmdla'], allow_failed_imports=False)\n"
                        "backbone = dict(type='DLA', arch='dla46_c', out_indices=(2, 5))\n")
        paths.append(str(path))
    proc = subprocess.run([sys.executable, '-c', REGISTRY_SCRIPT, *paths],
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()[-2:]
    assert lines == [
        'mmpretrain mmdla.models.backbones.dla DLA (64, 256)',
        'mmseg mmdla.models.backbones.dla DLA (64, 256)'
    ]


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg'])
def test_registered_class_is_ours(scope):
    import importlib
    assert importlib.import_module(f'{scope}.registry').MODELS.get('DLA') is DLA


def test_mmseg_encoder_decoder_config_builds_and_runs():
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    model = MODELS.build(
        dict(
            type='EncoderDecoder',
            backbone=dict(type='DLA', arch='dla34', out_indices=(2, 3, 4, 5)),
            decode_head=dict(
                type='FCNHead',
                in_channels=512,
                in_index=3,
                channels=32,
                num_convs=1,
                num_classes=5)))
    model.init_weights()
    out = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 5, 2, 2)


def test_classification_config_loads_and_builds():
    from mmdla.utils import build_model_from_config
    from tests.helpers import ROOT
    cfg = Config.fromfile(str(ROOT / 'configs/dla46_c_toy_cls.py'))
    assert cfg.default_scope == 'mmpretrain' and cfg.custom_imports['imports'] == ['mmdla']
    model = build_model_from_config(cfg, for_inference=False).eval()
    assert model.backbone.arch == 'dla46_c'
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64), mode='tensor').shape == (1, 4)
