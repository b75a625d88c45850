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
    torch.save({
        'state_dict': {
            prefix + k: v
            for k, v in model.state_dict().items()
        },
        'meta': {}
    }, path)


def test_pretrained_wrong_arch_names_arch_and_keys(tmp_path):
    save_backbone_checkpoint(tmp_path / 'dla60.pth', 'dla60')
    backbone = DLA(
        'dla34',
        init_cfg=dict(
            type='Pretrained', checkpoint=str(tmp_path / 'dla60.pth'), prefix='backbone.'))
    with pytest.raises(CheckpointMismatchError) as info:
        backbone.init_weights()
    msg = str(info.value)
    assert "does not fit DLA arch 'dla34' (it holds a dla60 backbone)" in msg
    assert 'wrong shape: ' in msg and 'level2.root.bn.running_mean (128,) != (64,)' in msg
    assert 'unexpected ' in msg and 'conv3.weight' in msg  # bottleneck vs basic blocks


def test_pretrained_unconverted_or_non_dla_checkpoint(tmp_path):
    torch.save({'conv1.weight': torch.zeros(8, 3, 3, 3)}, tmp_path / 'resnet.pth')
    backbone = DLA(
        'dla34',
        init_cfg=dict(
            type='Pretrained', prefix='backbone.', checkpoint=str(tmp_path / 'resnet.pth')))
    with pytest.raises(
            CheckpointMismatchError, match="no tensors under prefix 'backbone.'.*"
            'dla2mmdla.py'):
        backbone.init_weights()
    torch.save({'state_dict': {
        'backbone.conv1.weight': torch.zeros(8, 3, 3, 3)
    }}, tmp_path / 'other.pth')
    backbone = DLA(
        'dla34',
        init_cfg=dict(
            type='Pretrained', prefix='backbone.', checkpoint=str(tmp_path / 'other.pth')))
    with pytest.raises(CheckpointMismatchError) as info:
        backbone.init_weights()
    assert 'not one of the ten DLA backbones' in str(info.value)
    assert 'unexpected 1: conv1.weight' in str(info.value)


def test_pretrained_correct_checkpoint_loads_exactly(tmp_path):
    save_backbone_checkpoint(tmp_path / 'dla46_c.pth', 'dla46_c')
    source = torch.load(tmp_path / 'dla46_c.pth', weights_only=True)['state_dict']
    backbone = DLA(
        'dla46_c',
        init_cfg=dict(
            type='Pretrained', prefix='backbone.', checkpoint=str(tmp_path / 'dla46_c.pth')))
    backbone.init_weights()
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, source['backbone.' + k]), k


def toy_train_error(tmp_path, capsys, extra=()):
    return run_and_expect_error(train_tool, [
        str(ROOT / 'configs/dla34_toy.py'), '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', 'train_cfg.max_iters=2', *extra,
        *data_root_options(tmp_path / 'toy')
    ], capsys)


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
    err = toy_train_error(
        tmp_path, capsys,
        [f'train_dataloader.num_workers={workers}', 'train_dataloader.persistent_workers=False'])
    assert 'cannot read image' in err and 'toycity_00000' in err and 'corrupt' in err


@pytest.mark.slow
def test_label_value_out_of_range_is_named(tmp_path, capsys, toy):
    _, labels = toy
    for path in labels:
        label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        label[5, 5] = 40
        cv2.imwrite(str(path), label)
    # (the config's persistent_workers=True is dropped with num_workers=0 by the tool)
    err = toy_train_error(tmp_path, capsys, ['train_dataloader.num_workers=0'])
    assert 'has value 40 outside 0..18 (ignore index 255)' in err and '_labelTrainIds.png' in err


def test_label_size_mismatch_is_named(tmp_path, capsys, toy):
    _, labels = toy
    for path in labels:
        cv2.imwrite(str(path), np.zeros((10, 20), np.uint8))
    # (the config's persistent_workers=True is dropped with num_workers=0 by the tool)
    err = toy_train_error(tmp_path, capsys, ['train_dataloader.num_workers=0'])
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
    torch.save(
        {
            'state_dict': {
                'w': torch.ones(2)
            },
            'message_hub': {
                'b': buffer
            },
            'meta': {
                'seed': np.int64(3),
                'arr': np.zeros(2)
            }
        }, tmp_path / 'ok.pth')
    loaded = CheckpointLoader.load_checkpoint(str(tmp_path / 'ok.pth'), map_location='cpu')
    assert loaded['message_hub']['b'].mean() == 1.0


# --- checkpoints given to the tools: truncated, corrupt, of another model --------------

eval_tool = load_tool('tools/test.py')
demo = load_tool('demo/image_demo.py')
dla2mmdla = load_tool('tools/model_converters/dla2mmdla.py')
TOY = str(ROOT / 'configs/dla34_toy.py')


@pytest.fixture
def toy_checkpoints(tmp_path):
    """A checkpoint of the toy config's model, a truncated copy and one of another model."""
    from tests.helpers import build_config_model
    good = tmp_path / 'toy.pth'
    torch.save({'state_dict': build_config_model('dla34_toy').state_dict(), 'meta': {}}, good)
    data = good.read_bytes()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(data[:len(data) // 2])
    other = tmp_path / 'classifier.pth'
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v
                for k, v in DLA('dla46_c').state_dict().items()
            },
            'meta': {}
        }, other)
    return good, truncated, other


@pytest.fixture
def toy_data(tmp_path):
    make_toy_data.main([str(tmp_path / 'toy'), '--num-train', '1', '--num-val', '1'])
    return data_root_options(tmp_path / 'toy')


def test_dict_literal_in_cfg_options_is_named(capsys):
    """(MMEngine's DictAction recurses without end on key={...})"""
    err = run_and_expect_error(train_tool,
                               [TOY, '--cfg-options', "model.backbone.arch={'levels': [1, 1]}"],
                               capsys)
    assert 'takes no dict literals' in err and '_base_' in err


def test_test_tool_truncated_checkpoint(tmp_path, capsys, toy_checkpoints, toy_data):
    _, truncated, _ = toy_checkpoints
    err = run_and_expect_error(
        eval_tool,
        [TOY, str(truncated), '--work-dir',
         str(tmp_path / 'w'), '--cfg-options', *toy_data], capsys)
    assert f"cannot read checkpoint '{truncated}'" in err and 'truncated' in err
    assert not (tmp_path / 'w' / 'metrics.json').exists()


def test_test_tool_checkpoint_of_another_model(tmp_path, capsys, toy_checkpoints, toy_data):
    _, _, other = toy_checkpoints
    err = run_and_expect_error(
        eval_tool,
        [TOY, str(other), '--work-dir',
         str(tmp_path / 'w'), '--cfg-options', *toy_data], capsys)
    assert "does not fit the config's model" in err and 'missing' in err
    assert 'decode_head.' in err and 'unexpected' in err


def test_test_tool_checkpoint_is_a_directory(tmp_path, capsys, toy_data):
    err = run_and_expect_error(eval_tool, [TOY, str(tmp_path), '--cfg-options', *toy_data], capsys)
    assert f"checkpoint '{tmp_path}' (load_from) is a directory" in err


def test_resume_from_a_truncated_checkpoint_writes_nothing(tmp_path, capsys, toy_checkpoints,
                                                           toy_data):
    _, truncated, _ = toy_checkpoints
    work = tmp_path / 'w'
    work.mkdir()
    kept = work / 'iter_100.pth'
    kept.write_bytes(truncated.read_bytes())
    (work / 'last_checkpoint').write_text(str(kept))

    def checkpoints():  # (the runner also dumps the config and a log into the work dir)
        return {
            p.name: p.read_bytes()
            for p in work.iterdir() if p.suffix == '.pth' or p.name == 'last_checkpoint'
        }

    before = checkpoints()
    err = run_and_expect_error(
        train_tool,
        [TOY, '--work-dir', str(work), '--resume', '--cfg-options', *toy_data], capsys)
    assert f"cannot read checkpoint '{kept}'" in err
    assert checkpoints() == before  # no checkpoint written over, none saved


@pytest.mark.slow
def test_load_from_a_corrupt_checkpoint(tmp_path, capsys, toy_data):
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'\x00' * 100)
    err = run_and_expect_error(
        train_tool,
        [TOY, '--work-dir',
         str(tmp_path / 'w'), '--cfg-options', f'load_from={bad}', *toy_data], capsys)
    assert f"cannot read checkpoint '{bad}'" in err


def test_demo_corrupt_or_foreign_checkpoint(tmp_path, capsys, toy_checkpoints):
    _, truncated, other = toy_checkpoints
    make_toy_data.main([str(tmp_path / 'toy'), '--num-train', '1', '--num-val', '1'])
    image = next((tmp_path / 'toy/leftImg8bit/val/toycity').iterdir())
    out = tmp_path / 'overlay.png'
    err = run_and_expect_error(
        demo, [str(image), TOY, str(truncated), '--out-file',
               str(out)], capsys)
    assert 'cannot read checkpoint' in err
    err = run_and_expect_error(demo, [str(image), TOY, str(other), '--out-file', str(out)], capsys)
    assert "does not fit the config's model" in err
    assert not out.exists()
    (tmp_path / 'broken.png').write_bytes(b'PNG but not really')
    err = run_and_expect_error(demo, [str(tmp_path / 'broken.png'), TOY, str(other)], capsys)
    assert 'cannot decode image' in err and 'broken.png' in err


# --- configs whose heads do not fit the data or the backbone ----------------------------


def test_num_classes_not_fitting_the_dataset(tmp_path, capsys, toy_data):
    err = run_and_expect_error(train_tool, [
        TOY, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', 'model.decode_head.num_classes=11', *toy_data
    ], capsys)
    assert 'model.decode_head.num_classes is 11' in err
    assert 'CityscapesDataset) has 19 classes' in err


def test_num_classes_not_fitting_the_label_check(tmp_path, capsys, toy_data):
    err = run_and_expect_error(train_tool, [
        TOY, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', 'train_dataloader.dataset.pipeline.1.num_classes=11',
        *toy_data
    ], capsys)
    assert 'LoadSegAnnotations of train_dataloader.dataset.pipeline accepts label values 0..10' \
        in err


def test_head_rejects_label_values_beyond_num_classes():
    """Even with a pipeline that does not check labels, the loss names the bad value."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from mmdla.errors import DataError
    from mmdla.models import DLAUpHead
    head = DLAUpHead(
        in_channels=[32, 64, 128, 256, 512],
        num_classes=19,
        loss_decode=dict(type='CrossEntropyLoss'))
    sample = SegDataSample()
    label = torch.zeros(1, 8, 8, dtype=torch.long)
    label[0, 3, 3] = 25
    sample.gt_sem_seg = PixelData(data=label)
    with pytest.raises(DataError, match=r'has value 25 outside 0\.\.18'):
        head.loss_by_feat(torch.zeros(1, 19, 8, 8), [sample])


@pytest.mark.parametrize('options,message', [
    (['model.backbone.out_indices=[2,3,4,5]'], 'model.decode_head.in_index -5 is out of range'),
    (['model.decode_head.in_channels=[32,64,128,256,256]'
      ], 'in_channels [32, 64, 128, 256, 256] do not fit in_index [-5, -4, -3, -2, -1] '
     '(output -1 has 512 channels, not 256)'),
])
def test_head_inputs_not_fitting_the_backbone(tmp_path, capsys, options, message):
    err = run_and_expect_error(
        train_tool,
        [TOY, '--work-dir', str(tmp_path / 'w'), '--cfg-options', *options], capsys)
    assert message in err and 'the backbone (out_indices' in err


def test_classifier_head_not_fitting_the_backbone(tmp_path, capsys):
    err = run_and_expect_error(train_tool, [
        str(ROOT / 'configs/dla34_imagenet.py'), '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', 'model.head.in_channels=256'
    ], capsys)
    assert 'model.head.in_channels is 256 but the last backbone output has 512' in err


def test_head_checks_its_inputs_at_run_time():
    from mmdla.errors import ConfigInputError
    from mmdla.models import DLAUpHead
    head = DLAUpHead(in_channels=[64, 128, 256, 512], down_ratio=4, num_classes=3)
    features = DLA('dla34', out_indices=(3, 4, 5)).eval()(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ConfigInputError, match=r'in_index \[-4, -3, -2, -1\] is out of range'):
        head(list(features))
    features = DLA('dla46_c', out_indices=(2, 3, 4, 5)).eval()(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ConfigInputError, match=r'do not fit the outputs.*\[64, 64, 128, 256\]'):
        head(list(features))


# --- paths of the wrong kind --------------------------------------------------------------


def test_converter_directory_and_same_file(tmp_path, capsys):
    save_backbone_checkpoint(tmp_path / 'model.pth', 'dla46_c')
    err = run_and_expect_error(dla2mmdla, [str(tmp_path), str(tmp_path / 'o.pth')], capsys)
    assert f"SRC '{tmp_path}' is a directory (it holds model.pth)" in err
    (tmp_path / 'out').mkdir()
    err = run_and_expect_error(
        dla2mmdla, [str(tmp_path / 'model.pth'), str(tmp_path / 'out')], capsys)
    assert "is a directory: give the output file name" in err
    before = (tmp_path / 'model.pth').read_bytes()
    err = run_and_expect_error(
        dla2mmdla,
        [str(tmp_path / 'model.pth'), str(tmp_path / 'model.pth')], capsys)
    assert 'is SRC' in err and (tmp_path / 'model.pth').read_bytes() == before


def test_config_that_is_a_directory_or_broken(tmp_path, capsys):
    err = run_and_expect_error(train_tool, [str(tmp_path)], capsys)
    assert 'is a directory' in err
    (tmp_path / 'broken.py').write_text('model = dict(type=\n')
    err = run_and_expect_error(train_tool, [str(tmp_path / 'broken.py')], capsys)
    assert 'cannot parse config' in err and 'broken.py' in err


def test_segmentation_out_must_be_a_directory(tmp_path, capsys, toy_checkpoints, toy_data):
    good, _, _ = toy_checkpoints
    (tmp_path / 'preds').write_text('a file')
    err = run_and_expect_error(
        eval_tool,
        [TOY, str(good), '--out',
         str(tmp_path / 'preds'), '--cfg-options', *toy_data], capsys)
    assert 'is a file' in err and 'give a directory' in err


def test_cfg_options_item_without_equals_is_one_line(capsys):
    err = run_and_expect_error(
        train_tool,
        [str(ROOT / 'configs' / 'dla34_toy.py'), '--cfg-options', 'a=1', 'model.backbone'], capsys)
    assert "KEY=VALUE; got 'model.backbone'" in err, err
