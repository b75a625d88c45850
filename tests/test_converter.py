"""Checkpoint conversion: official (ucbdrive/dla) and timm DLA -> mmdla ImageClassifier.

timm's DLA (a test dependency) is the reference network: random weights and randomised BN
statistics are saved once as a timm checkpoint and once in the official layout (a plain
state dict that also holds the dead ``project`` tensors), converted with the CLI, loaded
strictly into the mmpretrain ImageClassifier and compared in eval mode.
"""
import subprocess
import sys

import pytest
import torch

from mmdla.models.converters import arch_signature
from tests.helpers import ROOT, load_tool

dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')
# the ImageClassifier of configs/{arch}_imagenet.py: equivalence holds for the config's model
build_classifier = load_tool('tools/misc/model_summary.py').build_classifier
ARCHS = ['dla34', 'dla46_c', 'dla46x_c', 'dla60x_c', 'dla60', 'dla60x', 'dla102', 'dla102x',
         'dla102x2', 'dla169']
# ../shared/spec/dla.md §2: "official" (with the dead project modules and fc) and "clean"
OFFICIAL_PARAMS = {
    'dla34': 15_783_832, 'dla46_c': 1_309_848, 'dla46x_c': 1_076_888, 'dla60x_c': 1_336_728,
    'dla60': 22_334_104, 'dla60x': 17_649_816, 'dla102': 33_731_736, 'dla102x': 26_772_120,
    'dla102x2': 41_745_048, 'dla169': 53_989_016}
CLEAN_PARAMS = {
    'dla34': 15_742_104, 'dla46_c': 1_301_400, 'dla46x_c': 1_068_440, 'dla60x_c': 1_319_832,
    'dla60': 22_036_632, 'dla60x': 17_352_344, 'dla102': 33_268_888, 'dla102x': 26_309_272,
    'dla102x2': 41_282_200, 'dla169': 53_389_720}


def random_timm_dla(arch):
    """timm DLA with random weights and random, data-calibrated BN statistics, in eval mode.

    The BN affine parameters are randomised, then the running statistics are set to those
    of a random batch (as after training), and the classifier is drawn from N(0, 0.01) (as
    mmpretrain's LinearClsHead is initialised), so activations and logits have realistic
    magnitudes (with the default 0/1 statistics and timm's Kaiming fc, logits reach several
    hundred and float32 summation order alone differs by more than 1e-4).
    """
    import timm
    model = timm.create_model(arch, pretrained=False)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0, 0.2)
            m.reset_running_stats()
            m.momentum = None  # cumulative average: the statistics of the batch below
        model.train()(torch.randn(4, 3, 64, 64))
        for m in bns:
            m.momentum = 0.1
            m.num_batches_tracked.fill_(1000)
        model.fc.weight.normal_(0, 0.01)
        model.fc.bias.normal_(0, 0.01)
    return model.eval()


def official_state_dict(timm_state_dict, arch):
    """The official layout: timm's tensors + the dead project tensors (random values)."""
    state_dict = dict(timm_state_dict)
    for name, shape in arch_signature(arch)[1].items():
        state_dict[name] = (torch.tensor(7) if name.endswith('num_batches_tracked')
                            else torch.randn(shape))
    return state_dict


def convert(src, dst):
    assert dla2mmdla.main([str(src), str(dst)]) == 0
    return torch.load(dst, map_location='cpu', weights_only=True)


@pytest.mark.parametrize('arch', ARCHS)
def test_conversion_equivalence_both_formats(arch, tmp_path, capsys):
    reference = random_timm_dla(arch)
    timm_sd = reference.state_dict()
    official_sd = official_state_dict(timm_sd, arch)

    def count(sd):
        return sum(v.numel() for k, v in sd.items()
                   if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked')))
    assert count(timm_sd) == CLEAN_PARAMS[arch]
    assert count(official_sd) == OFFICIAL_PARAMS[arch]

    torch.save(timm_sd, tmp_path / 'timm.pth')
    torch.save({'state_dict': timm_sd}, tmp_path / 'timm_wrapped.pth')
    torch.save(official_sd, tmp_path / 'official.pth')
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = reference(x)
    for src, fmt in [('timm.pth', 'timm'), ('timm_wrapped.pth', 'timm'),
                     ('official.pth', 'official')]:
        ckpt = convert(tmp_path / src, tmp_path / f'{src}.mmdla.pth')
        assert ckpt['meta']['arch'] == arch and ckpt['meta']['source_format'] == fmt
        model = build_classifier(arch)
        model.load_state_dict(ckpt['state_dict'], strict=True)
        with torch.no_grad():
            logits = model(x, mode='tensor')
        error = (logits - expected).abs().max().item()
        print(f'{arch} {fmt}: max abs logit difference {error:.3e}')
        assert error < 1e-4
    assert 'dropped' in capsys.readouterr().out


def test_converted_backbone_loads_into_mmseg_via_pretrained(tmp_path):
    from mmseg.registry import MODELS
    reference = random_timm_dla('dla34')
    torch.save(reference.state_dict(), tmp_path / 'timm.pth')
    convert(tmp_path / 'timm.pth', tmp_path / 'dla34.pth')
    backbone = MODELS.build(dict(
        type='DLA', arch='dla34',
        init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'dla34.pth'),
                      prefix='backbone.')))
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(backbone(x)[-1], reference.forward_features(x))


def test_non_dla_checkpoint_exits_nonzero_with_reason(tmp_path):
    torch.save({'conv1.weight': torch.randn(8, 3, 3, 3), 'fc.weight': torch.randn(10, 8)},
               tmp_path / 'resnet.pth')
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools/model_converters/dla2mmdla.py'),
         str(tmp_path / 'resnet.pth'), str(tmp_path / 'out.pth')],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert 'not a DLA checkpoint' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_mismatched_checkpoint_lists_missing_and_unexpected_keys(tmp_path, capsys):
    sd = random_timm_dla('dla34').state_dict()
    del sd['level5.root.conv.weight']
    sd['level4.extra.weight'] = torch.zeros(1)
    sd['level5.tree1.conv1.weight'] = torch.zeros(512, 256, 1, 1)
    torch.save(sd, tmp_path / 'broken.pth')
    assert dla2mmdla.main([str(tmp_path / 'broken.pth'), str(tmp_path / 'o.pth')]) == 1
    err = capsys.readouterr().err
    assert 'closest is dla34' in err
    assert 'missing 1: level5.root.conv.weight' in err
    assert 'unexpected 1: level4.extra.weight' in err
    assert 'level5.tree1.conv1.weight (512, 256, 1, 1) != (512, 256, 3, 3)' in err


def test_unreadable_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint')
    assert dla2mmdla.main([str(tmp_path / 'junk.pth'), str(tmp_path / 'o.pth')]) == 1
    assert 'cannot read' in capsys.readouterr().err
    assert dla2mmdla.main([str(tmp_path / 'missing.pth'), str(tmp_path / 'o.pth')]) == 1
    assert 'does not exist' in capsys.readouterr().err
