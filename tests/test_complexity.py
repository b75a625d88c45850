"""Parameters and MACs of the ten ImageNet classifiers equal the reference figures."""
import pytest

from mmdla.reference import IMAGENET
from mmdla.utils import model_complexity
from tests.helpers import build_config_model, load_tool

model_summary = load_tool('tools/misc/model_summary.py')


@pytest.mark.parametrize('arch', list(IMAGENET))
def test_classifier_params_and_macs(arch):
    cost = model_complexity(build_config_model(f'{arch}_imagenet'), (3, 224, 224))
    assert cost['params'] == IMAGENET[arch].params
    assert cost['macs'] / 1e9 == pytest.approx(IMAGENET[arch].gmacs, abs=0.0005)


def test_summary_script_prints_every_arch(capsys):
    model_summary.main(['--archs', 'dla34', 'dla46_c', '--shape', '64', '96'])
    out = capsys.readouterr().out
    assert '15,742,104' in out and '1,301,400' in out
    assert '512x2x3' in out  # dla34 level5 at 64x96
