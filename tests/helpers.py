"""Small helpers shared by the tests."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_tool(relative_path: str):
    """Import a script under tools/ (not a package) as a module, e.g. to call its main()."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_model(cfg, scope='mmseg'):
    """Build ``cfg.model`` (or a model dict) in ``scope`` without touching the global
    default scope (which other tests rely on)."""
    import importlib

    from mmengine.registry import DefaultScope
    registry = importlib.import_module(f'{scope}.registry').MODELS
    model_cfg = cfg.model if hasattr(cfg, 'model') else cfg
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(model_cfg)
