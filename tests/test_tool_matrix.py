"""Every tool that takes a config, on a shipped config of each task (classification,
segmentation, detection): it runs and gives real output, or stops with one line saying
that the task is not supported (exit code 2, no traceback).

The configs are the toy ones (tiny data written by make_toy_data.py, untrained weights);
the tools' own tests check their figures in depth, this matrix checks that no tool x task
combination falls through (e.g. a table keyed by library that lacks a row). tools/train.py
and tools/test.py run on each task's toy config in tests/test_toy_<task>.py.
"""
import os

import pytest
import torch

from tests.helpers import ROOT, expected_params, load_tool, run_and_expect_error, shipped_configs

CONFIGS = {
    'classification': 'configs/dla46_c_toy_cls.py',
    'segmentation': 'configs/dla34_toy.py',
    'detection': 'configs/centernet_dla34_toy.py'
}
TASKS = tuple(CONFIGS)
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
make_toy_data = load_tool('tools/misc/make_toy_data.py')


def config_path(task):
    return str(ROOT / CONFIGS[task])


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    """Per task: the ``--cfg-options`` pointing the config at tiny toy data, and a
    checkpoint of the config's untrained model (plus an image for the demo)."""
    from mmdla.utils import build_model_from_config
    root = tmp_path_factory.mktemp('matrix')
    out = {}
    for task, flag in [('classification', 'cls'), ('segmentation', 'seg'), ('detection', 'det')]:
        data = root / flag
        make_toy_data.main([str(data), '--task', flag, '--num-train', '2', '--num-val', '2'])
        options = [f'{loader}.dataset.data_root={data}/' for loader in LOADERS]
        if task == 'detection':
            ann = data / 'annotations/instances_val.json'
            options += [f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']
            image = next((data / 'images/val').glob('*.png'))
        elif task == 'segmentation':
            image = next((data / 'leftImg8bit/val').rglob('*.png'))
        else:
            image = next((data / 'val').rglob('*.png'))
        model = build_model_from_config(config_path(task))
        checkpoint = root / f'{flag}.pth'
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
        out[task] = dict(options=options, checkpoint=str(checkpoint), image=str(image), data=data)
    return out


def run_tool(path, argv):
    return load_tool(path).main([str(a) for a in argv])


@pytest.mark.parametrize(
    'task', [pytest.param(t, marks=pytest.mark.slow) if t == 'segmentation' else t for t in TASKS])
def test_get_flops(task, capsys):
    """Default shapes of each task (224x224, 1024x2048, 512x512)."""
    result = run_tool('tools/analysis_tools/get_flops.py', [config_path(task)])
    assert result['params'] == expected_params(ROOT / CONFIGS[task])
    assert result['shape'] == {
        'classification': (224, 224),
        'segmentation': (1024, 2048),
        'detection': (512, 512)
    }[task]
    assert result['macs'] > 1e8 and 'GMACs' in capsys.readouterr().out
    if task == 'segmentation':  # model_zoo.py counts Cityscapes MACs at 1/4 x 1/4, times 16
        from mmdla.utils import config_complexity
        assert result['macs'] == 16 * config_complexity(config_path(task), (256, 512))['macs']


def test_get_flops_counts_deformable_convs():
    """CenterNet-DCN: the deformable convs count as the dense convs they generalise plus
    their offset / mask convs, so DCN costs more than the plain-conv neck."""
    from mmengine.config import Config

    from mmdla.utils import config_complexity
    dcn = config_complexity(str(ROOT / 'configs/centernet_dla34_coco.py'))
    cfg = Config.fromfile(str(ROOT / 'configs/centernet_dla34_coco.py'))
    cfg.model.neck.use_dcn = False
    plain = config_complexity(cfg)
    # 9 DCN layers in the neck, each adding an offset / mask conv of 27 output channels
    assert dcn['macs'] > plain['macs'] and dcn['params'] > plain['params']
    assert (dcn['macs'] - plain['macs']) / plain['macs'] < 0.1


@pytest.mark.parametrize('task', TASKS)
def test_benchmark(task, capsys):
    results = run_tool('tools/analysis_tools/benchmark.py', [
        config_path(task), '--shape', '64', '64', '--batch', '1', '--warmup', '1', '--repeats', '1'
    ])
    out = capsys.readouterr().out
    assert 'infer mmdla' in out and 'train mmdla' in out, out
    assert results['infer']['mmdla']['times'][0] > 0


@pytest.mark.parametrize('task', TASKS)
def test_print_config(task, capsys):
    run_tool('tools/misc/print_config.py', [config_path(task)])
    head = {
        'classification': "type='LinearClsHead'",
        'segmentation': "type='DLAUpHead'",
        'detection': "type='CenterNetHead'"
    }[task]
    assert head in capsys.readouterr().out


@pytest.mark.parametrize('task', TASKS)
def test_browse_dataset(task, toy, tmp_path):
    drawn = run_tool('tools/analysis_tools/browse_dataset.py', [
        config_path(task), '--output-dir', tmp_path, '--not-show', '--cfg-options',
        *toy[task]['options'][:1]
    ])
    expected = 8 if task == 'classification' else 2  # 2 per class / 2 scenes
    assert len(drawn) == expected and len(os.listdir(tmp_path)) == expected


@pytest.mark.parametrize('task', TASKS)
def test_confusion_matrix(task, toy, tmp_path, capsys):
    argv = [
        config_path(task), toy[task]['checkpoint'], '--out', tmp_path / 'cm.png', '--cfg-options',
        *toy[task]['options']
    ]
    if task == 'detection':
        err = run_and_expect_error(
            load_tool('tools/analysis_tools/confusion_matrix.py'), [str(a) for a in argv], capsys)
        assert 'is a detection config' in err and 'segmentation and classification' in err
        return
    result = run_tool('tools/analysis_tools/confusion_matrix.py', argv)
    total = 8 if task == 'classification' else None  # 4 classes x 2 val images
    if total:
        assert result['counts'].sum() == total
    else:  # every labelled pixel of the two 128x256 scenes, at most
        assert 0 < result['counts'].sum() <= 2 * 128 * 256
    assert (tmp_path / 'cm.png').stat().st_size > 0


@pytest.mark.parametrize('task', TASKS)
def test_tta_cost(task, capsys):
    tool = load_tool('tools/analysis_tools/tta_cost.py')
    if task != 'segmentation':
        err = run_and_expect_error(tool, [config_path(task)], capsys)
        assert f'is a {task} config' in err and 'segmentation multi-scale test' in err
        return
    result = tool.main([config_path(task), '--shape', '64', '128', '--repeats', '1'])
    assert len(result['single']) == 5 and result['tta'] > 0


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
@pytest.mark.parametrize('task', TASKS)
def test_export(task, fmt, toy, tmp_path, capsys):
    tool = 'tools/deployment/pytorch2onnx.py' if fmt == 'onnx' else \
        'tools/deployment/pytorch2torchscript.py'
    out = tmp_path / ('m.onnx' if fmt == 'onnx' else 'm.pt')
    code = run_tool(
        tool, [config_path(task), toy[task]['checkpoint'], '--out', out, '--shape', '64', '96'])
    assert code == 0 and out.stat().st_size > 0
    assert 'parity check passed' in capsys.readouterr().out


@pytest.mark.parametrize('task', TASKS)
def test_deployed_onnx_gives_the_metrics_of_tools_test(task, toy, tmp_path, capsys):
    """test_deployed.py on the dynamic ONNX export of the toy checkpoint: the config's test
    set and metrics, the numbers tools/test.py gives for the checkpoint."""
    config, checkpoint, options = config_path(task), toy[task]['checkpoint'], toy[task]['options']
    model = tmp_path / 'm.onnx'
    assert run_tool('tools/deployment/pytorch2onnx.py',
                    [config, checkpoint, '--out', model, '--shape', '64', '96', '--dynamic']) == 0
    deployed = run_tool('tools/deployment/test_deployed.py',
                        [config, model, '--work-dir', tmp_path / 'd', '--cfg-options', *options])
    expected = run_tool(
        'tools/test.py',
        [config, checkpoint, '--work-dir', tmp_path / 't', '--cfg-options', *options])
    capsys.readouterr()
    assert deployed.keys() == expected.keys() and deployed
    for key, value in expected.items():
        assert deployed[key] == pytest.approx(value, abs=0.01), key


@pytest.mark.parametrize('task', TASKS)
def test_demo(task, toy, tmp_path, capsys):
    out_file = tmp_path / 'out.png'
    result = run_tool(
        'demo/image_demo.py',
        [toy[task]['image'],
         config_path(task), toy[task]['checkpoint'], '--out-file', out_file])
    assert out_file.stat().st_size > 0
    if task == 'classification':
        assert len(result) == 4  # top-k of the 4 toy classes
    assert 'image_demo: wrote' in capsys.readouterr().out


def test_every_config_names_a_known_library():
    """Each shipped config's default_scope is a row of the library table (so every tool
    finds its task, shapes, visualizer)."""
    from mmengine.config import Config

    from mmdla.libraries import LIBRARIES
    scopes = {Config.fromfile(str(c)).default_scope for c in shipped_configs()}
    assert scopes == set(LIBRARIES)


def test_publish_model_keeps_the_weights(toy, tmp_path):
    """publish_model.py takes a checkpoint of any task: the same tensors come out."""
    tool = load_tool('tools/misc/publish_model.py')
    for task in TASKS:
        out = tool.main([toy[task]['checkpoint'], str(tmp_path / f'{task}.pth')])
        published = torch.load(out, weights_only=True)['state_dict']
        original = torch.load(toy[task]['checkpoint'], weights_only=True)['state_dict']
        assert published.keys() == original.keys()
        assert all(torch.equal(published[k], original[k]) for k in original)
