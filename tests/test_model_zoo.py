"""Model zoo: README tables and metafiles equal what the tools compute; tool smoke runs."""
import pytest

from tests.helpers import ROOT, load_tool

model_zoo = load_tool('tools/analysis_tools/model_zoo.py')
get_flops = load_tool('tools/analysis_tools/get_flops.py')
benchmark = load_tool('tools/analysis_tools/benchmark.py')
tta_cost = load_tool('tools/analysis_tools/tta_cost.py')


@pytest.mark.slow
def test_readme_tables_and_metafiles_match_the_tool(capsys):
    """Fails when a config or the model changes and the tables were not regenerated
    (python tools/analysis_tools/model_zoo.py)."""
    assert model_zoo.main(['--check']) == 0, capsys.readouterr().out


def test_readme_classification_rows_are_the_spec_numbers():
    readme = (ROOT / 'README.md').read_text()
    table = readme.split('<!-- model-zoo:classification -->')[1].split('<!--')[0]
    rows = {r[0]: r for r in model_zoo.parse_table(table)}
    assert rows['dla34'][1:4] == ['15,742,104', '3.060', '74.63']
    assert rows['dla169'][1:4] == ['53,389,720', '11.558', '78.70']
    assert len(rows) == 10


def test_get_flops_cli(capsys):
    result = get_flops.main([str(ROOT / 'configs/dla46x_c_imagenet.py')])
    assert result['params'] == 1_068_440
    assert result['macs'] / 1e9 == pytest.approx(0.533, rel=0.02)  # spec: within 2 %
    assert 'GMACs 0.533' in capsys.readouterr().out


def test_benchmark_runs_and_reports(capsys):
    results = benchmark.main([str(ROOT / 'configs/dla46_c_toy_cls.py'), '--shape', '64', '64',
                              '--batch', '2', '--warmup', '1', '--repeats', '2'])
    out = capsys.readouterr().out
    assert 'infer' in out and 'train' in out and 'img/s' in out and 'peak memory' in out
    assert len(results['infer']['mmdla']['times']) == 2 and results['train']['mmdla']['peak'] > 0


def test_benchmark_compare_timm_runs_same_weights(capsys):
    results = benchmark.main([str(ROOT / 'configs/dla46_c_imagenet.py'), '--shape', '64', '64',
                              '--batch', '2', '--warmup', '1', '--repeats', '2', '--mode',
                              'infer', '--compare-timm', '--channels-last', '--fuse-conv-bn',
                              '--memory-repeats', '1'])
    out = capsys.readouterr().out
    diff = float(out.split('max |logit difference| ')[1].split()[0])
    assert diff < 1e-3  # same weights in both (BN folded and channels_last on mmdla's side)
    assert 'infer mmdla / timm: time' in out
    ratio = results['infer']['ratio']
    assert ratio['time'] > 0 and ratio['memory'] > 0


def test_tta_cost_script(capsys):
    ratio = tta_cost.main([str(ROOT / 'configs/dla34_toy.py'), '--shape', '64', '96',
                           '--repeats', '1'])
    out = capsys.readouterr().out
    assert '5 views (32x48, 48x72, 64x96, 80x120, 96x144)' in out
    assert ratio > 0  # a measurement, not a timed assertion
