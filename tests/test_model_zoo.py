"""Model zoo: README tables and metafiles equal what the tools compute; tool smoke runs."""
import os
import statistics

import pytest

from mmdla.reference import DLA_UP, IMAGENET
from mmdla.utils.benchmark import in_fresh_process
from tests.helpers import ROOT, load_tool, run_and_expect_error

model_zoo = load_tool('tools/analysis_tools/model_zoo.py')
get_flops = load_tool('tools/analysis_tools/get_flops.py')
benchmark = load_tool('tools/analysis_tools/benchmark.py')
benchmark_official = load_tool('tools/analysis_tools/benchmark_official.py')
tta_cost = load_tool('tools/analysis_tools/tta_cost.py')


@pytest.mark.slow
def test_readme_tables_and_metafiles_match_the_tool(capsys):
    """Fails when a config or the model changes and the tables were not regenerated
    (python tools/analysis_tools/model_zoo.py)."""
    assert model_zoo.main(['--check']) == 0, capsys.readouterr().out


def test_readme_classification_rows_are_the_reference_numbers():
    readme = (ROOT / 'README.md').read_text()
    table = readme.split('<!-- model-zoo:classification -->')[1].split('<!--')[0]
    cells = [[c.strip() for c in line.strip().strip('|').split('|')]
             for line in table.strip().splitlines()[2:]]  # (header and rule skipped)
    rows = {r[0]: r for r in cells}
    assert list(rows) == list(IMAGENET)
    for arch, facts in IMAGENET.items():
        assert rows[arch][1:4] == [f'{facts.params:,}', f'{facts.gmacs:.3f}', f'{facts.top1:.2f}']
        assert rows[arch][5] == (f'[`hf-hub:timm/{arch}.in1k`]'
                                 f'(https://huggingface.co/timm/{arch}.in1k)')


def test_docs_reference_tables_hold_the_reference_module_figures():
    docs = (ROOT / 'docs/reference.md').read_text()
    for arch, facts in IMAGENET.items():
        assert (f'| {arch} | {facts.official_params:,} | {facts.params:,} | '
                f'{facts.backbone_params:,} | {facts.gmacs:.3f} | {facts.top1:.2f} |') in docs
    for arch, facts in DLA_UP.items():
        assert (f'| {arch} + DLA-Up | {facts.official_params:,} | {facts.params_19:,} | '
                f'{facts.params_11:,} | {facts.gmacs:.1f} |') in docs


def test_get_flops_cli(capsys):
    result = get_flops.main([str(ROOT / 'configs/dla46x_c_imagenet.py')])
    assert result['params'] == IMAGENET['dla46x_c'].params
    assert result['macs'] / 1e9 == pytest.approx(IMAGENET['dla46x_c'].gmacs, abs=5e-4)
    assert 'params 1,068,440, GMACs 0.533' in capsys.readouterr().out


def test_benchmark_runs_and_reports(capsys):
    results = benchmark.main([
        str(ROOT / 'configs/dla46_c_toy_cls.py'), '--shape', '64', '64', '--batch', '2', '--warmup',
        '1', '--repeats', '2'
    ])
    out = capsys.readouterr().out
    assert 'infer' in out and 'train' in out and 'img/s' in out and 'peak memory' in out
    for mode in ('infer', 'train'):
        times = results[mode]['mmdla']['times']
        assert len(times) == 2 and all(t > 0 for t in times)
        median_ms = statistics.median(times) * 1e3
        assert f'{mode} mmdla' in out and f'{median_ms:.1f} ms' in out  # printed as measured


@pytest.mark.slow
def test_benchmark_compare_timm_runs_same_weights(capsys):
    results = benchmark.main([
        str(ROOT / 'configs/dla46_c_imagenet.py'), '--shape', '64', '64', '--batch', '2',
        '--warmup', '1', '--repeats', '2', '--mode', 'infer', '--compare-timm', '--memory-repeats',
        '1'
    ])
    out = capsys.readouterr().out
    diff = float(out.split('max |logit difference| ')[1].split()[0])
    assert diff < 1e-3  # same weights in both (mmdla: BN folded and channels_last)
    infer = results['infer']
    ratio = (statistics.median(infer['mmdla']['times']) / statistics.median(infer['timm']['times']))
    assert infer['ratio']['time'] == pytest.approx(ratio)  # the printed ratio is the measured
    assert f'infer mmdla / timm: time {ratio:.3f}' in out


def test_tta_cost_script(capsys):
    result = tta_cost.main(
        [str(ROOT / 'configs/dla34_toy.py'), '--shape', '64', '96', '--repeats', '1'])
    out = capsys.readouterr().out
    assert '5 views (32x48, 48x72, 64x96, 80x120, 96x144)' in out
    assert len(result['single']) == 5  # one single-scale run per view
    assert result['ratio'] == pytest.approx(result['tta'] / sum(result['single']))
    assert f"ratio to the sum: {result['ratio']:.3f}" in out


def test_weights_sources_are_timm_hub_files_or_named_without_url():
    """ImageNet models: Weights is timm's hub file of the arch (mim downloads it, mmdla
    loads it as it is); CenterNet models have no stable URL, so no Weights, and their
    metafile names CenterNet's file and how to load it; segmentation and the Faster R-CNN /
    RetinaNet detectors: none published. The weights table lists exactly timm's pretrained
    DLA tags."""
    import timm
    import yaml

    from mmdla.models import DLA
    for task in ('classification', 'detection', 'segmentation', 'dla_detectors'):
        text = (ROOT / f'configs/metafile_{task}.yml').read_text()
        models = yaml.safe_load(text)['Models']
        for model in models:
            assert (ROOT / model['Config']).is_file()
            if task == 'classification':
                arch = model['Name'][:-len('_imagenet')]
                assert model['Weights'] == (f'https://huggingface.co/timm/{arch}.in1k/resolve/'
                                            'main/model.safetensors')
            else:
                assert 'Weights' not in model
        if task == 'detection':
            for schedule in ('1x', '2x'):
                assert f"CenterNet's ctdet_coco_dla_{schedule}.pth (Google Drive" in text
        if task == 'dla_detectors':
            assert [m['Name'] for m in models] == [
                'faster_rcnn_dla34_fpn_1x_coco', 'faster_rcnn_dla60_fpn_1x_coco',
                'retinanet_dla34_fpn_1x_coco'
            ]
            assert text.count('# Weights: none published') == len(models)
    table = model_zoo.weights_table()
    tags = sorted(timm.list_pretrained('dla*'))  # timm's dla.py default_cfgs
    assert tags == sorted(f'{arch}.in1k' for arch in DLA.all_arch_settings())
    for tag in tags:
        assert f'[timm/{tag}](https://huggingface.co/timm/{tag})' in table
    assert table.count('Google Drive') == 2


def test_benchmark_official_names_a_wrong_checkout(tmp_path, capsys):
    err = run_and_expect_error(benchmark_official, [str(tmp_path)], capsys)
    assert err == (f"error: '{tmp_path}' has no dataset.py: give a checkout of "
                   'https://github.com/ucbdrive/dla')


@pytest.mark.slow
def test_in_fresh_process_passes_on_the_childs_error(tmp_path):
    """(Its results: test_benchmark_official_measures_mmdla_in_a_fresh_process.)"""
    worker = tmp_path / 'worker.py'
    worker.write_text("import os\n\n\ndef fail():\n    raise ValueError(f'from {os.getpid()}')\n")
    with pytest.raises(ValueError, match=r'from \d+') as info:
        in_fresh_process(str(worker), 'fail')
    assert str(os.getpid()) not in str(info.value)  # raised in another process


@pytest.mark.slow
def test_benchmark_official_measures_mmdla_in_a_fresh_process():
    """The mmdla side of a case needs no official checkout: one warm-up, two timed steps."""
    result = in_fresh_process(benchmark_official.__file__, 'run_case', 'cls-infer', 'mmdla', '', 1,
                              2)
    assert len(result['times']) == 2 and all(t > 0 for t in result['times'])
    assert result['peak'] > 0
