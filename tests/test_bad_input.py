"""Bad input gives one clear line naming the problem (and a non-zero exit for the tools).

Covered elsewhere: unknown / misspelt arch, bad out_indices / frozen_stages, inconsistent
custom arch, in_channels mismatch (test_backbone.py); non-DLA / mismatched checkpoints for
the converter (test_converter.py, test_dla_up.py); missing data root, empty split, missing
pretrained or test checkpoint (test_tools.py).
"""

import cv2
import numpy as np
import pytest
import torch

from mmdla.errors import CheckpointError, CheckpointMismatchError
from mmdla.models import DLA
from tests.helpers import ROOT, data_root_options, load_tool, run_and_expect_error

train_tool = load_tool('tools/train.py')
make_toy_data = load_tool('tools/misc/make_toy_data.py')


def save_backbone_checkpoint(path, arch, prefix='backbone.'):
    model = DLA(arch)
    torch.save({'state_dict': {prefix + k: v for k, v in model.state_dict().items()},
                'meta': {}}, path)


def test_pretrained_wrong_arch_names_arch_and_keys(tmp_path):
    save_backbone_checkpoint(tmp_path / 'dla60.pth', 'dla60')
    backbone = DLA('dla34', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'dla60.pth'),
                                          prefix='backbone.'))
    with pytest.raises(CheckpointMismatchError) as info:
        backbone.init_weights()
    msg = str(info.value)
    assert "does not fit DLA arch 'dla34' (it holds a dla60 backbone)" in msg
    assert 'wrong shape: ' in msg and 'level2.root.bn.running_mean (128,) != (64,)' in msg
    assert 'unexpected ' in msg and 'conv3.weight' in msg  # bottleneck vs basic blocks


def test_pretrained_unconverted_or_non_dla_checkpoint(tmp_path):
    torch.save({'conv1.weight': torch.zeros(8, 3, 3, 3)}, tmp_path / 'resnet.pth')
    backbone = DLA('dla34', init_cfg=dict(type='Pretrained', prefix='backbone.',
                                          checkpoint=str(tmp_path / 'resnet.pth')))
    with pytest.raises(CheckpointMismatchError, match="no tensors under prefix 'backbone.'.*"
                                                      'dla2mmdla.py'):
        backbone.init_weights()
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(8, 3, 3, 3)}},
               tmp_path / 'other.pth')
    backbone = DLA('dla34', init_cfg=dict(type='Pretrained', prefix='backbone.',
                                          checkpoint=str(tmp_path / 'other.pth')))
    with pytest.raises(CheckpointMismatchError) as info:
        backbone.init_weights()
    assert 'not one of the ten DLA backbones' in str(info.value)
    assert 'unexpected 1: conv1.weight' in str(info.value)


def test_pretrained_correct_checkpoint_loads_exactly(tmp_path):
    save_backbone_checkpoint(tmp_path / 'dla46_c.pth', 'dla46_c')
    source = torch.load(tmp_path / 'dla46_c.pth', weights_only=True)['state_dict']
    backbone = DLA('dla46_c', init_cfg=dict(type='Pretrained', prefix='backbone.',
                                            checkpoint=str(tmp_path / 'dla46_c.pth')))
    backbone.init_weights()
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, source['backbone.' + k]), k


def toy_train_error(tmp_path, capsys, extra=()):
    return run_and_expect_error(train_tool, [
        str(ROOT / 'configs/dla34_toy.py'), '--work-dir', str(tmp_path / 'w'), '--cfg-options',
        'train_cfg.max_iters=2', *extra, *data_root_options(tmp_path / 'toy')], capsys)


@pytest.fixture
def toy(tmp_path):
    make_toy_data.main([str(tmp_path / 'toy'), '--num-train', '2', '--num-val', '1'])
    train_dir = tmp_path / 'toy/leftImg8bit/train/toycity'
    label_dir = tmp_path / 'toy/gtFine/train/toycity'
    return sorted(train_dir.iterdir()), sorted(label_dir.iterdir())


@pytest.mark.parametrize('workers', [0, 1])
def test_corrupt_image_is_named(tmp_path, capsys, toy, workers):
    images, _ = toy
    data = images[0].read_bytes()
    images[0].write_bytes(data[:len(data) // 3])  # truncated PNG
    images[1].write_bytes(b'not an image at all')
    err = toy_train_error(tmp_path, capsys,
                          [f'train_dataloader.num_workers={workers}',
                           'train_dataloader.persistent_workers=False'])
    assert 'cannot read image' in err and 'toycity_00000' in err and 'corrupt' in err


def test_label_value_out_of_range_is_named(tmp_path, capsys, toy):
    _, labels = toy
    for path in labels:
        label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        label[5, 5] = 40
        cv2.imwrite(str(path), label)
    err = toy_train_error(tmp_path, capsys, ['train_dataloader.num_workers=0',
                                             'train_dataloader.persistent_workers=False'])
    assert 'has value 40 outside 0..18 (ignore: 255)' in err and '_labelTrainIds.png' in err


def test_label_size_mismatch_is_named(tmp_path, capsys, toy):
    _, labels = toy
    for path in labels:
        cv2.imwrite(str(path), np.zeros((10, 20), np.uint8))
    err = toy_train_error(tmp_path, capsys, ['train_dataloader.num_workers=0',
                                             'train_dataloader.persistent_workers=False'])
    assert 'is 10x20 but its image' in err and '128x256' in err


def test_checkpoint_loader_refuses_foreign_globals(tmp_path):
    """MMEngine checkpoints load with weights_only=True plus an exact allow-list; anything
    else (here getattr reaching beyond HistoryBuffer's statistics) is refused."""
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader

    class Sneaky:
        def __reduce__(self):
            return getattr, (HistoryBuffer, '__init__')

    torch.save({'state_dict': {}, 'x': Sneaky()}, tmp_path / 'bad.pth')
    with pytest.raises(CheckpointError, match='not part of an MMEngine checkpoint'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'bad.pth'), map_location='cpu')
    buffer = HistoryBuffer()
    buffer.update(1.0)
    torch.save({'state_dict': {'w': torch.ones(2)}, 'message_hub': {'b': buffer},
                'meta': {'seed': np.int64(3), 'arr': np.zeros(2)}}, tmp_path / 'ok.pth')
    loaded = CheckpointLoader.load_checkpoint(str(tmp_path / 'ok.pth'), map_location='cpu')
    assert loaded['message_hub']['b'].mean() == 1.0
