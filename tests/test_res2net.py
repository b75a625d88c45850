"""timm's Res2Net DLAs (``dla60_res2net``, ``dla60_res2next``): sizes, equivalence with timm,
conversion of timm checkpoints, and the backbone options every arch supports.

timm's network with random weights and data-calibrated random BN statistics
(:func:`tests.helpers.random_timm_dla`) is the reference. Feature maps are compared in
float64: with these statistics timm's own float32 result differs from its float64 one by
~1e-4 (relative to the largest value) at level 5, so in float32 any change of summation
order (channels_last) is of the size of the tolerance; in float64 a wrong operation shows
up as a difference of order one while rounding stays below 1e-12.
"""
import copy
from functools import lru_cache

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmdla.engine.checks import check_checkpoint_fits
from mmdla.errors import ArchError, CheckpointMismatchError
from mmdla.models import DLA
from mmdla.models.backbones.dla import Bottle2neck
from mmdla.models.checkpoints import detect_arch
from mmdla.reference import TIMM_EXTRA, classifier_params
from mmdla.utils import model_complexity
from tests.helpers import ROOT, load_tool, random_timm_dla

dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')
ARCHS = ['dla60_res2net', 'dla60_res2next']
CHANNELS = (16, 32, 128, 256, 512, 1024)


@lru_cache(maxsize=None)
def _reference(arch):
    torch.manual_seed(0)
    return random_timm_dla(arch)


def reference(arch):
    """A fresh copy of timm's ``arch`` with random weights and BN statistics (eval mode)."""
    return copy.deepcopy(_reference(arch))


def backbone_state(timm_model):
    return {k: v for k, v in timm_model.state_dict().items() if not k.startswith('fc.')}


def relative_error(ours, expected):
    return ((ours - expected).abs().max() / expected.abs().max()).item()


def config_model(arch):
    """The ImageNet classifier of ``configs/dla60_imagenet.py`` with ``arch`` (the README's
    ``--cfg-options model.backbone.arch=...``): DLA + pooling + 1000-class linear head."""
    from mmengine.config import Config

    from mmdla.engine.checks import check_model_wiring
    from mmdla.utils import build_model_from_config
    cfg = Config.fromfile(str(ROOT / 'configs/dla60_imagenet.py'))
    cfg.merge_from_dict({'model.backbone.arch': arch})
    check_model_wiring(cfg.model)  # tools/train.py's pre-flight check
    return build_model_from_config(cfg)


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def test_named_archs_and_unknown_arch_message():
    assert list(DLA.timm_arch_settings) == ARCHS == list(TIMM_EXTRA)
    assert not set(ARCHS) & set(DLA.arch_settings)  # the paper's table stays the ten
    assert list(DLA.all_arch_settings()) == list(DLA.arch_settings) + ARCHS
    with pytest.raises(ArchError) as info:
        DLA('dla60_res2nets')
    msg = str(info.value)
    assert "Did you mean 'dla60_res2net'" in msg
    assert all(name in msg for name in DLA.all_arch_settings())


@pytest.mark.parametrize('arch', ARCHS)
def test_parameter_counts_equal_timms(arch):
    import timm
    facts = TIMM_EXTRA[arch]
    with torch.device('meta'):
        backbone = DLA(arch)
        timm_model = timm.create_model(arch, pretrained=False)
        model = config_model(arch)
    assert num_params(timm_model) == facts.params
    assert num_params(backbone) == facts.backbone_params
    assert num_params(model) == facts.params == classifier_params(arch, 1000)
    # the same tensors under the same names: timm weights load as they are
    expected = {k: v.shape for k, v in timm_model.state_dict().items() if not k.startswith('fc.')}
    assert {k: v.shape for k, v in backbone.state_dict().items()} == expected


@pytest.mark.parametrize('arch', ARCHS)
def test_block_widths(arch):
    """timm: width = floor(out * base_width / 64) * cardinality // 2, ``scale`` 4 splits."""
    block = DLA(arch).level5.tree1
    assert isinstance(block, Bottle2neck) and block.scale == 4 and len(block.convs) == 3
    width, groups = {'dla60_res2net': (224, 1), 'dla60_res2next': (256, 8)}[arch]
    assert block.width == width and block.conv1.out_channels == 4 * width
    assert block.convs[0].groups == groups and block.convs[0].stride == (2, 2)
    assert block.pool is not None and DLA(arch).level5.tree2.pool is None


@pytest.mark.parametrize('arch', ARCHS)
def test_macs_at_224(arch):
    cost = model_complexity(config_model(arch), (3, 224, 224))
    assert cost['params'] == TIMM_EXTRA[arch].params
    assert cost['macs'] / 1e9 == pytest.approx(TIMM_EXTRA[arch].gmacs, abs=5e-4)


@pytest.mark.parametrize('arch', ARCHS)
def test_features_equal_timms_in_float64_in_both_layouts(arch):
    """All six levels, channels_last (the default) and contiguous, against timm and against
    each other."""
    ref = reference(arch).double()
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        expected = ref.forward_intermediates(x, intermediates_only=True)
    assert expected[-1].abs().max() > 1  # not a trivially small output
    outs = {}
    for name, layout in [('channels_last', torch.channels_last),
                         ('contiguous', torch.contiguous_format)]:
        model = DLA(arch, memory_format=name).eval()
        model.load_state_dict(backbone_state(ref), strict=True)
        model.double()
        assert model.level4.tree1.tree1.tree1.convs[0].weight.is_contiguous(memory_format=layout)
        with torch.no_grad():
            outs[name] = model(x)
        assert len(outs[name]) == 6
        assert all(o.is_contiguous(memory_format=layout) for o in outs[name])
        errors = [relative_error(o, e) for o, e in zip(outs[name], expected)]
        print(arch, name, 'float64 relative errors per level', ' '.join(f'{e:.1e}' for e in errors))
        assert max(errors) < 1e-10
    assert max(relative_error(a, b)
               for a, b in zip(outs['channels_last'], outs['contiguous'])) < 1e-10


@pytest.mark.parametrize('arch', ARCHS)
def test_contiguous_float32_is_timms_arithmetic(arch):
    """NCHW float32 runs the very operations timm runs: features equal to < 1e-6 (measured:
    bit-identical)."""
    ref = reference(arch)
    model = DLA(arch, memory_format='contiguous').eval()
    model.load_state_dict(backbone_state(ref), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ours = model(x)
        expected = ref.forward_intermediates(x, intermediates_only=True)
    assert max(relative_error(o, e) for o, e in zip(ours, expected)) < 1e-6


@pytest.mark.parametrize('arch', ARCHS)
def test_timm_checkpoint_converts_with_the_cli(arch, tmp_path):
    """timm state dict -> dla2mmdla.py -> the config's ImageClassifier (float32,
    channels_last): logits equal timm's; the backbone loads into an mmseg-style
    ``Pretrained`` DLA; the wrong Res2Net arch is named in the error."""
    ref = reference(arch)
    torch.save(ref.state_dict(), tmp_path / 'timm.pth')
    assert dla2mmdla.main([str(tmp_path / 'timm.pth'), str(tmp_path / 'mmdla.pth')]) == 0
    ckpt = torch.load(tmp_path / 'mmdla.pth', map_location='cpu', weights_only=True)
    meta = ckpt['meta']
    assert (meta['arch'], meta['source_format'], meta['num_classes']) == (arch, 'timm', 1000)
    model = config_model(arch)
    check_checkpoint_fits(model, str(tmp_path / 'mmdla.pth'))  # tools/test.py's check
    model.load_state_dict(ckpt['state_dict'], strict=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        logits = model(x, mode='tensor')
        expected = ref(x)
    error = relative_error(logits, expected)
    print(f'{arch}: float32 channels_last logits, relative error {error:.1e}')
    assert error < 1e-4

    backbone = DLA(
        arch,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(tmp_path / 'mmdla.pth'), prefix='backbone.'))
    backbone.init_weights()
    assert torch.equal(backbone.level5.tree1.convs[2].weight, ref.level5.tree1.convs[2].weight)
    other = ARCHS[1 - ARCHS.index(arch)]
    wrong = DLA(
        other,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(tmp_path / 'mmdla.pth'), prefix='backbone.'))
    with pytest.raises(CheckpointMismatchError, match=f'it holds a {arch} backbone'):
        wrong.init_weights()


def test_detect_arch_tells_the_res2net_archs_from_dla60():
    for arch in ARCHS + ['dla60']:
        with torch.device('meta'):
            state = DLA(arch).state_dict()
        assert detect_arch(state) == (arch, 'timm')


@pytest.mark.parametrize('arch,size', [('dla60_res2net', (65, 97)), ('dla60_res2next', (33, 40))])
def test_out_indices_and_odd_sizes(arch, size):
    """(timm itself fails on odd sizes: its max-pooled residual floors.)"""
    model = DLA(arch, out_indices=(5, 2, -3)).eval()
    assert model.out_indices == (2, 3, 5) and model.out_channels == (128, 256, 1024)
    h, w = size
    with torch.no_grad():
        outs = model(torch.randn(1, 3, h, w))
    assert [tuple(o.shape) for o in outs] == [(1, CHANNELS[i], -(-h // 2**i), -(-w // 2**i))
                                              for i in (2, 3, 5)]


def test_frozen_stages_and_norm_eval():
    model = DLA('dla60_res2next', frozen_stages=3).train()
    frozen = {'base_layer', 'level0', 'level1', 'level2', 'level3'}
    for name, param in model.named_parameters():
        assert param.requires_grad is not (name.split('.')[0] in frozen), name
    for name, module in model.named_modules():
        if isinstance(module, _BatchNorm):
            assert module.training is not (name.split('.')[0] in frozen), name
    before = model.level3.tree1.tree1.bns[1].running_mean.clone()
    model(torch.randn(2, 3, 32, 32))
    assert torch.equal(model.level3.tree1.tree1.bns[1].running_mean, before)
    model = DLA('dla60_res2net', norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert len(bns) == 95 and not any(m.training for m in bns)


def test_default_init_is_the_official_one():
    model = DLA('dla60_res2net')
    model.init_weights()
    conv = model.level5.tree1.convs[0]  # 3x3, 224 out: std sqrt(2 / (9 * 224))
    expected = (2.0 / (9 * 224))**0.5
    assert abs(conv.weight.std().item() - expected) / expected < 0.02
    bn = model.level5.tree1.bns[2]
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_custom_bottle2neck_arch():
    arch = dict(
        levels=(1, 1, 1, 1, 2, 1),
        channels=(8, 16, 32, 32, 64, 64),
        block='bottle2neck',
        cardinality=2,
        base_width=32,
        scale=3,
        residual_root=True)
    model = DLA(arch).eval()
    assert model.level2.tree1.width == 16 and len(model.level2.tree1.convs) == 2
    outs = model(torch.randn(1, 3, 40, 40))
    assert [o.shape[1] for o in outs] == [8, 16, 32, 32, 64, 64]
    single = DLA(dict(arch, scale=1)).eval()  # one conv on the one split, no pooling
    assert single.level2.tree1.pool is None and single(torch.randn(1, 3, 32, 32))[-1].shape \
        == (1, 64, 1, 1)


@pytest.mark.parametrize('arch,match', [
    (dict(levels=(1, ) * 6, channels=(8, 16, 32, 32, 64, 64), block='bottleneck',
          base_width=32), r"base_width: only with block 'bottle2neck'"),
    (dict(levels=(1, ) * 6, channels=(8, 16, 32, 32, 64, 64), block='bottle2neck',
          scale=0), r"arch\['scale'\] must be a positive int"),
    (dict(levels=(1, ) * 6, channels=(8, 16, 32, 32, 64, 64), block='bottle2neck',
          base_width=2), 'bottleneck width of 0'),
])
def test_bad_bottle2neck_arch(arch, match):
    with pytest.raises(ArchError, match=match):
        DLA(arch)
