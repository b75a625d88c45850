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
from tests.helpers import (ROOT, build_config_model, load_tool, official_layout,
                           official_state_dict, random_timm_dla, run_and_expect_error)

dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')
ARCHS = list(IMAGENET)
#: the deeper archs are in the full run only (the quick subset keeps the others)
DEEP_ARCHS = ('dla60', 'dla60x', 'dla102', 'dla102x', 'dla102x2', 'dla169')


def convert(src, dst):
    assert dla2mmdla.main([str(src), str(dst)]) == 0
    return torch.load(dst, map_location='cpu', weights_only=True)


@pytest.mark.parametrize(
    'arch', [pytest.param(a, marks=pytest.mark.slow) if a in DEEP_ARCHS else a for a in ARCHS])
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
    x = torch.randn(2, 3, 96, 128)  # (any size: global pooling; small keeps dla169 fast)
    with torch.no_grad():
        expected = reference(x)
    model = build_config_model(f'{arch}_imagenet')  # equivalence for the config's model
    for src, fmt in [('timm.pth', 'timm'), ('timm_wrapped.pth', 'timm'),
                     ('official.pth', 'official')]:
        ckpt = convert(tmp_path / src, tmp_path / f'{src}.mmdla.pth')
        assert ckpt['meta']['arch'] == arch and ckpt['meta']['source_format'] == fmt
        for tensor in model.state_dict().values():
            tensor.zero_()  # (each conversion loads into a blank model)
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
    backbone = MODELS.build(
        dict(
            type='DLA',
            arch='dla34',
            init_cfg=dict(
                type='Pretrained', checkpoint=str(tmp_path / 'dla34.pth'), prefix='backbone.')))
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        ours, expected = backbone(x)[-1], reference.forward_features(x)
    assert (ours - expected).abs().max() < 1e-4 * expected.abs().max()


@pytest.mark.slow
def test_non_dla_checkpoint_exits_nonzero_with_reason(tmp_path):
    torch.save({
        'conv1.weight': torch.randn(8, 3, 3, 3),
        'fc.weight': torch.randn(10, 8)
    }, tmp_path / 'resnet.pth')
    proc = subprocess.run([
        sys.executable,
        str(ROOT / 'tools/model_converters/dla2mmdla.py'),
        str(tmp_path / 'resnet.pth'),
        str(tmp_path / 'out.pth')
    ],
                          capture_output=True,
                          text=True,
                          timeout=300)
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
    err = run_and_expect_error(
        dla2mmdla,
        [str(tmp_path / 'broken.pth'), str(tmp_path / 'o.pth')], capsys)
    assert 'closest is dla34' in err
    assert 'missing 1: level5.root.conv.weight' in err
    assert 'unexpected 1: level4.extra.weight' in err
    assert 'level5.tree1.conv1.weight (512, 256, 1, 1) != (512, 256, 3, 3)' in err


def test_unreadable_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint')
    err = run_and_expect_error(
        dla2mmdla, [str(tmp_path / 'junk.pth'), str(tmp_path / 'o.pth')], capsys)
    assert "cannot read checkpoint '" in err and 'junk.pth' in err
    err = run_and_expect_error(
        dla2mmdla,
        [str(tmp_path / 'missing.pth'), str(tmp_path / 'o.pth')], capsys)
    assert 'missing.pth' in err and 'does not exist' in err
    assert not (tmp_path / 'o.pth').exists()


# --- file formats, reproducible output, class names ----------------------------------------


def _save_safetensors(state_dict, path):
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in state_dict.items()}, str(path))


def test_safetensors_bin_and_pth_give_the_same_checkpoint(tmp_path, capsys):
    """timm's hub files (model.safetensors, pytorch_model.bin) and .pth files (zip and
    pre-1.6 pickle) convert to the same tensors in the same order; the format is read from
    the content, not the name; the same SRC gives the same DST bytes whatever DST is called
    (the printed sha256)."""
    import hashlib

    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    sd = random_timm_dla('dla46_c').state_dict()
    _save_safetensors(sd, tmp_path / 'model.safetensors')
    torch.save(sd, tmp_path / 'pytorch_model.bin')
    torch.save(sd, tmp_path / 'timm.pth')
    torch.save(sd, tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)
    (tmp_path / 'misnamed.pth').write_bytes((tmp_path / 'model.safetensors').read_bytes())
    (tmp_path / 'misnamed.safetensors').write_bytes((tmp_path / 'timm.pth').read_bytes())
    ckpts = {
        src: convert(tmp_path / src, tmp_path / f'{src}.mmdla.pth')
        for src in ('model.safetensors', 'pytorch_model.bin', 'timm.pth', 'legacy.pth',
                    'misnamed.pth', 'misnamed.safetensors')
    }
    reference = ckpts['timm.pth']['state_dict']
    for src, ckpt in ckpts.items():
        assert list(ckpt['state_dict']) == list(reference), src  # the model's order
        assert all(torch.equal(v, reference[k]) for k, v in ckpt['state_dict'].items()), src
        meta = ckpt['meta']
        assert meta['arch'] == 'dla46_c' and meta['source_format'] == 'timm'
        assert meta['source'] == src
        assert meta['dataset_meta'] == {'classes': tuple(IMAGENET_CATEGORIES)}
    capsys.readouterr()
    assert dla2mmdla.main([str(tmp_path / 'model.safetensors'), str(tmp_path / 'a.pth')]) == 0
    printed = capsys.readouterr().out.split('sha256 ')[-1].strip()
    again = tmp_path / 'other' / 'dla46_c_imagenet.pth'
    assert dla2mmdla.main([str(tmp_path / 'model.safetensors'), str(again)]) == 0
    first, second = (tmp_path / 'a.pth').read_bytes(), again.read_bytes()
    assert first == second  # identical bytes: a published conversion can be reproduced
    assert hashlib.sha256(first).hexdigest() == printed
    assert first == (tmp_path / 'model.safetensors.mmdla.pth').read_bytes()
    assert first != (tmp_path / 'timm.pth.mmdla.pth').read_bytes()  # meta: another source


def test_directory_of_hub_downloads_converts_with_progress(tmp_path, capsys):
    """SRC_DIR DST_DIR: every checkpoint below SRC_DIR (one per hub folder: the safetensors
    file, not its pytorch_model.bin twin) lands in DST_DIR under its model-zoo name, with the
    same bytes as a single conversion; a second source of the same name is not lost."""
    hub, out = tmp_path / 'timm', tmp_path / 'checkpoints'
    for arch in ('dla46_c', 'dla46x_c'):
        (hub / f'{arch}.in1k').mkdir(parents=True)
        sd = random_timm_dla(arch).state_dict()
        _save_safetensors(sd, hub / f'{arch}.in1k' / 'model.safetensors')
        torch.save(sd, hub / f'{arch}.in1k' / 'pytorch_model.bin')
    torch.save(sd, hub / 'my_dla46x_c.pth')  # the same arch once more
    capsys.readouterr()
    assert dla2mmdla.main([str(hub), str(out)]) == 0
    printed = capsys.readouterr().out
    assert '3/3' in printed  # mmengine's progress bar over the files
    assert sorted(p.name for p in out.iterdir()) == [
        'dla46_c_imagenet.pth', 'dla46x_c_imagenet.pth', 'dla46x_c_imagenet_my_dla46x_c.pth'
    ]
    single = tmp_path / 'single.pth'
    dla2mmdla.main([str(hub / 'dla46_c.in1k' / 'model.safetensors'), str(single)])
    assert (out / 'dla46_c_imagenet.pth').read_bytes() == single.read_bytes()
    assert dla2mmdla.main([str(hub), str(out)]) == 0  # a re-run replaces, adds nothing
    assert len(list(out.iterdir())) == 3
    err = run_and_expect_error(dla2mmdla, [str(tmp_path / 'missing'), str(out)], capsys)
    assert 'does not exist' in err
    (tmp_path / 'empty').mkdir()
    err = run_and_expect_error(dla2mmdla, [str(tmp_path / 'empty'), str(out)], capsys)
    assert 'holds no checkpoint files' in err


def test_corrupt_safetensors_is_one_line_error(tmp_path, capsys):
    _save_safetensors(random_timm_dla('dla46_c').state_dict(), tmp_path / 'model.safetensors')
    data = (tmp_path / 'model.safetensors').read_bytes()
    (tmp_path / 'truncated.safetensors').write_bytes(data[:len(data) // 2])
    (tmp_path / 'header.safetensors').write_bytes(data[:8] + b'{"a": [1, 2' + b' ' * 64)
    for name in ('truncated.safetensors', 'header.safetensors'):
        err = run_and_expect_error(
            dla2mmdla, [str(tmp_path / name), str(tmp_path / 'o.pth')], capsys)
        assert f"cannot read '{tmp_path / name}' as a safetensors file" in err
        assert 'truncated or corrupt' in err and len(err.splitlines()) == 1
    assert not (tmp_path / 'o.pth').exists()


def test_class_names_by_class_count_and_dataset_option(tmp_path, capsys):
    """19 / 11 segmentation classes: Cityscapes / CamVid; 80 detection classes: COCO; a
    count of no known dataset needs --dataset (or none); a --dataset that contradicts the
    task or the class count is refused."""
    import timm
    from mmdet.datasets import CocoDataset
    from mmpretrain.datasets.categories import CUB_CATEGORIES

    from mmdla.datasets.camvid import CamVidDataset
    _save_safetensors(
        official_layout(build_config_model('dla34_camvid').state_dict()),
        tmp_path / 'camvid.safetensors')
    meta = convert(tmp_path / 'camvid.safetensors', tmp_path / 'camvid.pth')['meta']
    assert meta['task'] == 'segmentation' and meta['num_classes'] == 11
    assert meta['dataset_meta'] == {
        'classes': CamVidDataset.METAINFO['classes'],
        'palette': CamVidDataset.METAINFO['palette']
    }
    err = run_and_expect_error(
        dla2mmdla,
        [str(tmp_path / 'camvid.safetensors'),
         str(tmp_path / 'x.pth'), '--dataset', 'cityscapes'], capsys)
    assert ("dataset cityscapes has 19 classes but the checkpoint's segmentation head has 11" in err
            and 'camvid (11)' in err and '(--dataset NAME, or --dataset none)' in err)
    err = run_and_expect_error(
        dla2mmdla,
        [str(tmp_path / 'camvid.safetensors'),
         str(tmp_path / 'x.pth'), '--dataset', 'imagenet'], capsys)
    assert 'imagenet is a classification dataset but the checkpoint is a segmentation' in err

    torch.save(timm.create_model('dla46_c', num_classes=4).state_dict(), tmp_path / 'four.pth')
    err = run_and_expect_error(
        dla2mmdla, [str(tmp_path / 'four.pth'), str(tmp_path / 'x.pth')], capsys)
    assert 'cannot tell the dataset of a classification checkpoint with 4 classes' in err
    assert '--dataset none' in err and 'imagenet (1000)' in err
    assert not (tmp_path / 'x.pth').exists()
    assert dla2mmdla.main(
        [str(tmp_path / 'four.pth'),
         str(tmp_path / 'four_mm.pth'), '--dataset', 'none']) == 0
    meta = torch.load(tmp_path / 'four_mm.pth', weights_only=True)['meta']
    assert meta['num_classes'] == 4 and 'dataset_meta' not in meta
    torch.save(timm.create_model('dla46_c', num_classes=200).state_dict(), tmp_path / 'cub.pth')
    meta = convert(tmp_path / 'cub.pth', tmp_path / 'cub_mm.pth')['meta']
    assert meta['dataset_meta']['classes'] == tuple(CUB_CATEGORIES)

    detector = build_config_model('centernet_dla34_coco')
    _save_safetensors(official_layout(detector.state_dict()), tmp_path / 'ctdet.safetensors')
    ckpt = convert(tmp_path / 'ctdet.safetensors', tmp_path / 'ctdet.pth')
    assert ckpt['meta']['task'] == 'detection' and ckpt['meta']['use_dcn'] is True
    assert ckpt['meta']['dataset_meta']['classes'] == CocoDataset.METAINFO['classes']
    detector.load_state_dict(ckpt['state_dict'], strict=True)  # the round trip is exact
