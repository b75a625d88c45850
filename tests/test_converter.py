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

from mmdla.reference import IMAGENET
from tests.helpers import (ROOT, build_config_model, load_tool, official_state_dict,
                           random_timm_dla, run_and_expect_error)

dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')
ARCHS = list(IMAGENET)


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
    assert count(timm_sd) == IMAGENET[arch].params
    assert count(official_sd) == IMAGENET[arch].official_params

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
        model = build_config_model(f'{arch}_imagenet')  # equivalence for the config's model
        model.load_state_dict(ckpt['state_dict'], strict=True)
        with torch.no_grad():
            logits = model(x, mode='tensor')
        error = (logits - expected).abs().max().item() / expected.abs().max().item()
        print(f'{arch} {fmt}: max logit difference relative to the largest {error:.2e}')
        assert error < 1e-4  # channels_last (the default) reorders float additions only
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
        ours, expected = backbone(x)[-1], reference.forward_features(x)
    assert (ours - expected).abs().max() < 1e-4 * expected.abs().max()


def test_non_dla_checkpoint_exits_nonzero_with_reason(tmp_path):
    torch.save({'conv1.weight': torch.randn(8, 3, 3, 3), 'fc.weight': torch.randn(10, 8)},
               tmp_path / 'resnet.pth')
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools/model_converters/dla2mmdla.py'),
         str(tmp_path / 'resnet.pth'), str(tmp_path / 'out.pth')],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith('error: ')
    assert 'not a DLA checkpoint' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_mismatched_checkpoint_lists_missing_and_unexpected_keys(tmp_path, capsys):
    sd = random_timm_dla('dla34').state_dict()
    del sd['level5.root.conv.weight']
    sd['level4.extra.weight'] = torch.zeros(1)
    sd['level5.tree1.conv1.weight'] = torch.zeros(512, 256, 1, 1)
    torch.save(sd, tmp_path / 'broken.pth')
    err = run_and_expect_error(dla2mmdla, [str(tmp_path / 'broken.pth'),
                                           str(tmp_path / 'o.pth')], capsys)
    assert 'closest is dla34' in err
    assert 'missing 1: level5.root.conv.weight' in err
    assert 'unexpected 1: level4.extra.weight' in err
    assert 'level5.tree1.conv1.weight (512, 256, 1, 1) != (512, 256, 3, 3)' in err


def test_unreadable_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint')
    err = run_and_expect_error(dla2mmdla, [str(tmp_path / 'junk.pth'), str(tmp_path / 'o.pth')],
                               capsys)
    assert "cannot read '" in err and 'junk.pth' in err
    err = run_and_expect_error(dla2mmdla, [str(tmp_path / 'missing.pth'),
                                           str(tmp_path / 'o.pth')], capsys)
    assert 'missing.pth' in err and 'does not exist' in err
    assert not (tmp_path / 'o.pth').exists()
