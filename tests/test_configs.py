"""Every shipped config loads, builds and has exactly its reference parameter count."""
import pytest
import torch

from mmdla.utils import build_model_from_config
from tests.helpers import expected_params, shipped_configs

CONFIGS = shipped_configs()


def test_configs_are_found():
    # 10 ImageNet, 12 fine-grained, 8 seg, 4 toy, 2 CenterNet COCO, 3 Faster R-CNN / RetinaNet,
    # 1 SMOKE
    assert len(CONFIGS) == 40


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: p.stem)
def test_config_model_has_its_reference_parameter_count(config):
    expected = expected_params(config)  # every config has a number (KeyError otherwise)
    with torch.device('meta'):
        model = build_model_from_config(str(config), for_inference=False)
    assert sum(p.numel() for p in model.parameters()) == expected
