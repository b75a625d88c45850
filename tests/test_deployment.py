"""ONNX and TorchScript export (tools/deployment/): the files match the PyTorch model.

Every model (classifier, segmentor, CenterNet detector with the plain-conv neck and with
CenterNet's DCNv2 neck) gets one checkpoint with random weights and data-calibrated BN
statistics (the deformable convs: random offsets of a few pixels and masks, not the zero
offsets they start with). The tools export the
``init_model`` model (BN folded); the tests run the files themselves (not through the
tools' own check) and compare them with that model built anew (the DCN model with mmcv's
kernels; the files hold plain ops): relative difference
max|a - b| / max|b| <= 1e-4 and argmax agreement >= 99.9 %, at a multiple of 32 and at an
odd size. (Against the plain model, ``optimize=False``, the files differ by the BN
folding's rounding in addition, which tests/test_fast_defaults.py checks.)
"""
import json
import sys

import numpy as np
import pytest
import torch

from mmdla.apis import init_model
from tests.helpers import ROOT, build_config_model, load_tool, randomise_bn_, run_and_expect_error

onnx_tool = load_tool('tools/deployment/pytorch2onnx.py')
ts_tool = load_tool('tools/deployment/pytorch2torchscript.py')
openvino_tool = load_tool('tools/deployment/pytorch2openvino.py')

# name: (config, size divisible by 32, odd size)
MODELS = {
    'classifier': ('dla46_c_toy_cls', (64, 64), (65, 71)),
    'segmentor': ('dla34_toy', (64, 96), (67, 91)),
    'detector': ('centernet_dla34_toy', (64, 96), (67, 91)),
    'deformable detector': ('centernet_dla34_coco', (64, 96), (67, 91)),
}
CLASSES = {'classifier': 4, 'segmentor': 19, 'detector': 4, 'deformable detector': 80}
TASKS = {
    'classifier': 'classification',
    'segmentor': 'segmentation',
    'detector': 'detection',
    'deformable detector': 'detection'
}


def randomise_offsets_(model):
    """Offsets of a few pixels (bias N(0, 1.5): taps between pixels, some outside the map),
    varying with the features, and masks away from 0.5 in every mmcv DCNv2 layer.

    (Offsets that vary strongly with random features make the float32 network itself
    chaotic: with weights N(0, 0.02) mmcv's float32 model is 3.5e-3 relative from the same
    model in float64, so no two float32 implementations agree to 1e-4; N(0, 0.003) keeps
    that floor near 2e-5, as trained weights do.)"""
    for module in model.modules():
        if hasattr(module, 'conv_offset'):
            torch.nn.init.normal_(module.conv_offset.weight, 0, 0.003)
            torch.nn.init.normal_(module.conv_offset.bias, 0, 1.5)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """name -> (config path, checkpoint path, init_model's model), made once per model."""
    made = {}

    def get(name):
        if name not in made:
            config = str(ROOT / 'configs' / f'{MODELS[name][0]}.py')
            model = build_config_model(MODELS[name][0])  # SyncBN -> BN
            torch.manual_seed(0)
            randomise_offsets_(model)
            randomise_bn_(model, lambda: model(torch.randn(2, 3, 64, 96), mode='tensor'))
            path = tmp_path_factory.mktemp('deploy') / f'{name}.pth'
            torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
            made[name] = (config, str(path), init_model(config, str(path)))
        return made[name]

    return get


def reference(model, name: str, x: torch.Tensor):
    """The model's outputs as the exported file gives them (written out here, not taken
    from mmdla.apis.export)."""
    with torch.no_grad():
        out = model(x, mode='tensor')
    if name == 'segmentor':
        return [out[..., :x.shape[2], :x.shape[3]].numpy()]
    if TASKS[name] == 'detection':
        return [level[0].numpy() for level in out]  # heatmap, wh, offset
    return [out.numpy()]


def parity(ref, out):
    """(max |a - b| and max |a - b| / max |b| over all outputs, % agreement of the argmax
    over dim 1 of the first output)."""
    assert [r.shape for r in ref] == [o.shape for o in out]
    max_abs = max(float(np.abs(r - o).max()) for r, o in zip(ref, out))
    rel = max(float(np.abs(r - o).max() / np.abs(r).max()) for r, o in zip(ref, out))
    return max_abs, rel, float((ref[0].argmax(1) == out[0].argmax(1)).mean() * 100)


def check_file(run, model, name, batch, size, what):
    """Run the file on a random input of (batch, 3, *size) and assert parity with
    ``model``; prints the numbers."""
    x = torch.randn(batch, 3, *size, generator=torch.Generator().manual_seed(7))
    out = run(x)
    n, h, w = batch, *size
    expected = {
        'classification': (n, CLASSES[name]),
        'segmentation': (n, CLASSES[name], h, w),
        'detection': (n, CLASSES[name], -(-h // 4), -(-w // 4))
    }[TASKS[name]]
    assert out[0].shape == expected
    max_abs, rel, agreement = parity(reference(model, name, x), out)
    print(f'{what} {name} ({batch}, 3, {h}, {w}): max abs diff {max_abs:.2e}, relative diff '
          f'{rel:.2e}, argmax agreement {agreement:.3f} %')
    assert rel <= 1e-4 and agreement >= 99.9, (name, size, max_abs, rel, agreement)


def ort_runner(path):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')  # as the tool
    session = ort.InferenceSession(str(path), options, providers=['CPUExecutionProvider'])
    return session, lambda x: session.run(None, {'input': x.numpy()})


def tool_output(capsys):
    out = capsys.readouterr().out
    assert 'parity check passed' in out and 'FAILED' not in out, out
    return out


@pytest.mark.parametrize('name', list(MODELS))
def test_onnx_dynamic_export_runs_at_other_batches_and_sizes(name, trained, tmp_path, capsys):
    """Exported at a multiple of 32, run at an odd size: the decoders' crops are traced."""
    config, checkpoint, model = trained(name)
    even, odd = MODELS[name][1:]
    out = tmp_path / f'{name.replace(" ", "_")}.onnx'
    assert onnx_tool.main(
        [config, checkpoint, '--out',
         str(out), '--shape', *map(str, even), '--dynamic']) == 0
    printed = tool_output(capsys)
    assert 'dynamic batch / height / width' in printed and 'MiB' in printed
    assert f'input (2, 3, {even[0] + 5}, {even[1] + 3})' in printed  # the tool's 2nd check
    session, run = ort_runner(out)
    assert session.get_inputs()[0].shape == ['batch', 3, 'height', 'width']
    check_file(run, model, name, 1, even, 'ONNX dynamic')
    check_file(run, model, name, 2, odd, 'ONNX dynamic')
    meta = session.get_modelmeta().custom_metadata_map
    pre = model.cfg.model.data_preprocessor
    assert meta['task'] == TASKS[name]
    assert np.allclose(json.loads(meta['mean']), pre.mean)
    assert np.allclose(json.loads(meta['std']), pre.std)
    assert [o.name for o in session.get_outputs()] == json.loads(meta['outputs'])


def test_onnx_static_export_at_an_odd_size(trained, tmp_path, capsys):
    config, checkpoint, model = trained('segmentor')
    size = MODELS['segmentor'][2]
    out = tmp_path / 'seg.onnx'
    assert onnx_tool.main([config, checkpoint, '--out', str(out), '--shape', *map(str, size)]) == 0
    assert 'static shape' in tool_output(capsys)
    session, run = ort_runner(out)
    assert session.get_inputs()[0].shape == [1, 3, *size]  # fixed: no other size runs
    check_file(run, model, 'segmentor', 1, size, 'ONNX static')
    with pytest.raises(Exception, match='dimensions'):
        run(torch.zeros(1, 3, size[0] + 1, size[1]))


@pytest.mark.parametrize('name', list(MODELS))
def test_torchscript_export(name, trained, tmp_path, capsys):
    """Traced at an odd size, loaded without mmdla, right at a multiple of 32 too."""
    config, checkpoint, model = trained(name)
    even, odd = MODELS[name][1:]
    out = tmp_path / f'{name.replace(" ", "_")}.pt'
    assert ts_tool.main([config, checkpoint, '--out', str(out), '--shape', *map(str, odd)]) == 0
    tool_output(capsys)
    extra = {'mmdla_meta.json': ''}
    module = torch.jit.load(str(out), _extra_files=extra)
    assert json.loads(extra['mmdla_meta.json'])['outputs'] == json.dumps({
        'classification': ['logits'],
        'segmentation': ['seg_logits'],
        'detection': ['heatmap', 'wh', 'offset']
    }[TASKS[name]])

    def run(x):
        with torch.no_grad():
            return [t.numpy() for t in module(x)]

    check_file(run, model, name, 1, odd, 'TorchScript')
    check_file(run, model, name, 2, even, 'TorchScript')


@pytest.mark.slow
def test_dynamo_exporter(trained, tmp_path, capsys):
    config, checkpoint, model = trained('classifier')
    out = tmp_path / 'cls.onnx'
    assert onnx_tool.main([
        config, checkpoint, '--out',
        str(out), '--shape', '64', '--dynamic', '--exporter', 'dynamo'
    ]) == 0
    tool_output(capsys)
    _, run = ort_runner(out)
    check_file(run, model, 'classifier', 2, (65, 71), 'ONNX dynamo')


def test_the_check_reports_differences():
    from mmdla.apis.export import compare_outputs
    ref = np.zeros((2, 3, 4, 4), np.float32)
    ref[:, 1] = 2.0
    out = ref.copy()
    out[0, 1, 0, 0] = 0.0  # one of 32 argmaxes moves to class 0 (first index of a tie)
    out[1, 2, 3, 3] = 2.5  # one moves to class 2
    diff, shape = compare_outputs([ref, ref], [out, ref[:, :2]], ['a', 'b'])
    assert diff.max_abs == 2.5 and diff.rel == 1.25
    assert diff.agreement == pytest.approx(100 * 30 / 32) and not diff.ok
    assert shape.rel == float('inf') and not shape.ok
    close, = compare_outputs([ref], [ref + np.float32(1e-4)], ['a'])
    assert close.rel == pytest.approx(5e-5, rel=1e-3) and close.agreement == 100 and close.ok


def test_bad_input(trained, tmp_path, capsys, monkeypatch):
    config, _, _ = trained('segmentor')
    _, cls_checkpoint, _ = trained('classifier')
    out = str(tmp_path / 'm.onnx')
    err = run_and_expect_error(onnx_tool, ['configs/nope.py', '--out', out], capsys)
    assert "config file 'configs/nope.py' does not exist" in err
    err = run_and_expect_error(onnx_tool, [config, cls_checkpoint, '--out', out], capsys)
    assert 'does not fit the config' in err
    for shape in (['0', '64'], ['-5', '64'], ['31'], ['64', '64', '64']):
        err = run_and_expect_error(onnx_tool, [config, '--out', out, '--shape', *shape], capsys)
        assert err.startswith('error: --shape must be H W') and ' '.join(shape) in err
    err = run_and_expect_error(onnx_tool, [config, '--out', str(tmp_path)], capsys)
    assert 'is a directory' in err
    err = run_and_expect_error(onnx_tool, [config, '--out', out, '--check-shape', '64', '64'],
                               capsys)
    assert 'add --dynamic' in err
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import onnxruntime fails
    err = run_and_expect_error(onnx_tool, [config, '--out', out], capsys)
    assert "onnxruntime is not installed: pip install 'mmdla[deploy]'" in err
    assert not (tmp_path / 'm.onnx').exists()


@pytest.mark.parametrize('name', ['classifier', 'segmentor', 'deformable detector'])
def test_openvino_fp32_export(name, trained, tmp_path, capsys):
    """The tool's fp32 check passes; the IR, run here at another batch and an odd size,
    equals the PyTorch model (mmcv's kernels for the deformable detector)."""
    from mmdla.apis.openvino import OpenVinoRunner
    config, checkpoint, model = trained(name)
    even, odd = MODELS[name][1:]
    out = tmp_path / 'ov'
    assert openvino_tool.main([config, checkpoint, '--out',
                               str(out), '--shape', *map(str, even)]) == 0
    printed = tool_output(capsys)
    assert 'OpenVINO fp32' in printed and 'dynamic batch / height / width' in printed
    runner = OpenVinoRunner(str(out))
    assert runner.metadata['task'] == TASKS[name] and runner.precision == 'fp32'
    check_file(runner, model, name, 2, odd, 'OpenVINO fp32')


def openvino_cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin computes in bf16 here (AVX-512 BF16 / AMX); without
    it a bf16 model runs in fp32."""
    import openvino
    return 'BF16' in openvino.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')


def test_openvino_bf16_reports_agreement(trained, tmp_path, capsys):
    """--precision bf16: the tool reports differences and agreement; the IR keeps its
    precision and runs in bf16. (int8, calibrated and evaluated on trained weights:
    tests/test_toy_segmentation.py.)"""
    from mmdla.apis.openvino import OpenVinoRunner
    config, checkpoint, model = trained('segmentor')
    out = tmp_path / 'bf16'
    assert openvino_tool.main(
        [config, checkpoint, '--out',
         str(out), '--shape', '64', '96', '--precision', 'bf16']) == 0
    printed = capsys.readouterr().out
    assert 'OpenVINO bf16 segmentation model' in printed
    assert 'argmax agreement' in printed and 'parity check passed' in printed, printed
    runner = OpenVinoRunner(str(out))
    assert runner.precision == 'bf16'
    x = torch.randn(1, 3, 64, 96)
    max_abs, rel, agreement = parity(reference(model, 'segmentor', x), runner(x))
    print(f'bf16: relative difference {rel:.3f}, argmax agreement {agreement:.1f} %')
    if not openvino_cpu_has_bf16():  # (e.g. AMD EPYC without AVX-512): OpenVINO runs fp32
        assert rel < 1e-4 and agreement > 99.9, (rel, agreement)
        return
    # a random model's 19 logits are close to each other, so bf16 flips many argmaxes
    # (measured: 0.20 relative, 84-88 % agreement; chance is 5 %); and bf16 is in effect:
    # not a float32 result
    assert 1e-3 < rel < 0.5 and agreement > 50, (rel, agreement)


@pytest.mark.slow
def test_benchmark_backends_table(trained, capsys):
    """benchmark.py --backends on CenterNet-DCN: the six backends timed in one process,
    each compared with PyTorch fp32 (mmcv's DCN kernels): the fp32 runtimes equal it, bf16
    and int8 differ (they are in effect) but keep most heatmap argmaxes."""
    config, checkpoint, _ = trained('deformable detector')
    bench = load_tool('tools/analysis_tools/benchmark.py')
    results = bench.main([
        config, '--checkpoint', checkpoint, '--backends',
        'onnxruntime,openvino,openvino-bf16,openvino-int8,torch-bf16', '--shape', '64', '96',
        '--batch', '1', '--warmup', '1', '--repeats', '2', '--calib-random', '--calib-images', '2',
        '--memory-repeats', '0'
    ])
    out = capsys.readouterr().out
    print(out)
    assert list(results) == [
        'torch', 'onnxruntime', 'openvino', 'openvino-bf16', 'openvino-int8', 'torch-bf16'
    ]
    assert 'int8 calibrated on 2 random inputs' in out
    for name, figures in results.items():
        assert figures['median'] > 0 and figures['peak'] is None
        assert f'\n{name} ' in out
    assert results['torch']['ratio'] == 1 and results['torch']['rel'] == 0
    for name in ('onnxruntime', 'openvino'):
        assert results[name]['rel'] <= 1e-4 and results[name]['agreement'] >= 99.9, name
    # a random model's 80 heatmaps are close to each other (chance agreement: 1.25 %);
    # measured: bf16 0.18 - 0.19 relative, 77 - 79 %; int8 on 2 random calibration inputs
    # 0.51, 53 %
    for name, max_rel, min_agreement in [('torch-bf16', 0.5, 50), ('openvino-bf16', 0.5, 50),
                                         ('openvino-int8', 1.0, 25)]:
        figures = results[name]
        if name == 'openvino-bf16' and not openvino_cpu_has_bf16():  # runs fp32 there
            assert figures['rel'] <= 1e-4, name
            continue
        assert 1e-4 < figures['rel'] < max_rel and figures['agreement'] > min_agreement, name


def test_benchmark_backends_bad_input(capsys):
    bench = load_tool('tools/analysis_tools/benchmark.py')
    config = str(ROOT / 'configs/dla34_toy.py')
    err = run_and_expect_error(bench, [config, '--backends', 'torch,tensorrt'], capsys)
    assert 'unknown backend(s) tensorrt' in err and 'openvino-int8' in err
    err = run_and_expect_error(bench, [config, '--backends', 'openvino', '--mode', 'train'], capsys)
    assert 'not with --compare-timm, --mode train or --compile' in err
