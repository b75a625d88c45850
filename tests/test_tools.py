"""tools/train.py and tools/test.py: clear one-line errors for bad inputs."""
from tests.helpers import ROOT, data_root_options, load_tool, run_and_expect_error

train_tool = load_tool('tools/train.py')
eval_tool = load_tool('tools/test.py')
make_toy_data = load_tool('tools/misc/make_toy_data.py')


def test_missing_data_root(tmp_path, capsys):
    err = run_and_expect_error(train_tool, [
        str(ROOT / 'configs/dla34_toy.py'), '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', *data_root_options(tmp_path / 'nothing')
    ], capsys)
    assert f"train_dataloader.dataset.data_root '{tmp_path / 'nothing'}' does not exist" in err
    assert 'make_toy_data.py' in err


def test_empty_split(tmp_path, capsys):
    (tmp_path / 'toy/leftImg8bit/train').mkdir(parents=True)
    err = run_and_expect_error(train_tool, [
        str(ROOT / 'configs/dla34_toy.py'), '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', *data_root_options(tmp_path / 'toy')
    ], capsys)
    assert 'leftImg8bit/train' in err and 'has no images' in err


def test_missing_pretrained_checkpoint(tmp_path, capsys):
    make_toy_data.main([str(tmp_path / 'toy'), '--num-train', '1', '--num-val', '1'])
    err = run_and_expect_error(train_tool, [
        str(ROOT / 'configs/dla34_cityscapes.py'), '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', *data_root_options(tmp_path / 'toy'),
        'model.backbone.init_cfg.checkpoint=checkpoints/dla34_imagenet.pth'
    ], capsys)
    assert "pretrained checkpoint 'checkpoints/dla34_imagenet.pth'" in err
    assert 'hf-hub:timm/dla34.in1k' in err and 'model.backbone.init_cfg=None' in err


def test_missing_test_checkpoint_and_config(tmp_path, capsys):
    make_toy_data.main([str(tmp_path / 'toy'), '--num-train', '1', '--num-val', '1'])
    err = run_and_expect_error(eval_tool, [
        str(ROOT / 'configs/dla34_toy.py'),
        str(tmp_path / 'none.pth'), '--cfg-options', *data_root_options(tmp_path / 'toy')
    ], capsys)
    assert "checkpoint '" in err and 'none.pth' in err and 'does not exist' in err
    err = run_and_expect_error(train_tool, [str(tmp_path / 'missing_config.py')], capsys)
    assert 'missing_config.py' in err and 'does not exist' in err
