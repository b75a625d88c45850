"""Parameters and MACs of the ten classifiers equal ../shared/spec/dla.md (§2)."""
import pytest

from tests.helpers import load_tool

model_summary = load_tool('tools/misc/model_summary.py')
from mmdla.utils import model_complexity  # noqa: E402

# arch: (clean params incl. the 1000-class fc, GMACs at 224x224)
SPEC = {
    'dla34': (15_742_104, 3.060), 'dla46_c': (1_301_400, 0.574),
    'dla46x_c': (1_068_440, 0.533), 'dla60x_c': (1_319_832, 0.581),
    'dla60': (22_036_632, 4.236), 'dla60x': (17_352_344, 3.517),
    'dla102': (33_268_888, 7.165), 'dla102x': (26_309_272, 5.848),
    'dla102x2': (41_282_200, 9.284), 'dla169': (53_389_720, 11.558)}


@pytest.mark.parametrize('arch', list(SPEC))
def test_classifier_params_and_macs(arch):
    cost = model_complexity(model_summary.build_classifier(arch), (3, 224, 224))
    params, gmacs = SPEC[arch]
    assert cost['params'] == params
    assert cost['macs'] / 1e9 == pytest.approx(gmacs, abs=0.0005)


def test_summary_script_prints_every_arch(capsys):
    model_summary.main(['--archs', 'dla34', 'dla46_c', '--shape', '64', '96'])
    out = capsys.readouterr().out
    assert '15,742,104' in out and '1,301,400' in out
    assert '512x2x3' in out  # dla34 level5 at 64x96
