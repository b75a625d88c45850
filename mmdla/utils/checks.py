"""Pre-flight checks of a config's inputs, so that tools fail with one clear line.

MMEngine would otherwise fail deep inside dataset building or weight initialisation with a
stack trace that does not say which config key is wrong or how to fix it.
"""
import os
import os.path as osp
from typing import Iterator, List, Tuple

from mmengine.config import Config


class ConfigInputError(Exception):
    """A file or directory that a config refers to is missing or unusable."""


class DataError(ValueError):
    """A data file (image, label map) that is corrupt or does not fit the dataset."""


#: how to create the data of each dataset type (README "Data preparation")
DATA_HINTS = {
    'CityscapesDataset': 'download Cityscapes and run python tools/dataset_converters/'
                         'cityscapes.py DATA_ROOT (or, for the toy data, python '
                         'tools/misc/make_toy_data.py data/toy)',
    'CamVidDataset': 'run python tools/dataset_converters/camvid.py PATH/TO/CamVid -o '
                     'data/camvid',
}
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def _datasets(cfg: dict, key: str) -> Iterator[Tuple[str, dict]]:
    """(config key, dataset cfg) for a dataset and the datasets it wraps."""
    if not isinstance(cfg, dict):
        return
    yield key, cfg
    if isinstance(cfg.get('dataset'), dict):
        yield from _datasets(cfg['dataset'], f'{key}.dataset')
    for i, sub in enumerate(cfg.get('datasets', []) or []):
        yield from _datasets(sub, f'{key}.datasets[{i}]')


def _has_images(directory: str) -> bool:
    for _root, _dirs, files in os.walk(directory, followlinks=True):
        if any(f.lower().endswith(IMAGE_SUFFIXES) for f in files):
            return True
    return False


def check_data(cfg: Config, loaders: List[str]) -> None:
    """Every ``data_root`` / image directory of the given dataloaders exists and has images."""
    for loader in loaders:
        if not isinstance(cfg.get(loader), dict):
            continue
        for key, dataset in _datasets(cfg[loader].get('dataset'), f'{loader}.dataset'):
            data_root = dataset.get('data_root')
            if not data_root:
                continue
            hint = DATA_HINTS.get(dataset.get('type'), "see README 'Data preparation'")
            if not osp.isdir(data_root):
                raise ConfigInputError(
                    f"{key}.data_root '{data_root}' does not exist: {hint}; or point the "
                    f'config at your copy with --cfg-options {key}.data_root=PATH')
            prefix = dataset.get('data_prefix') or ''
            if isinstance(prefix, dict):  # mmseg: dict(img_path=..., seg_map_path=...)
                prefix = prefix.get('img_path', '')  # mmpretrain: a plain str
            img_dir = osp.join(data_root, prefix)
            if not osp.isdir(img_dir) or not _has_images(img_dir):
                raise ConfigInputError(
                    f"{key}: split directory '{img_dir}' is missing or has no images "
                    f'(data_root exists; image prefix {prefix!r}): {hint}')


def _pretrained(cfg, path='model') -> Iterator[Tuple[str, dict]]:
    if isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        for i, item in enumerate(init if isinstance(init, list) else [init]):
            if isinstance(item, dict) and item.get('type') == 'Pretrained':
                yield f'{path}.init_cfg' + (f'[{i}]' if isinstance(init, list) else ''), item
        for k, v in cfg.items():
            if k != 'init_cfg':
                yield from _pretrained(v, f'{path}.{k}')
    elif isinstance(cfg, list):
        for i, v in enumerate(cfg):
            yield from _pretrained(v, f'{path}[{i}]')


def check_pretrained(cfg: Config) -> None:
    """Every local ``Pretrained`` checkpoint in ``cfg.model`` exists."""
    for key, init in _pretrained(cfg.get('model')):
        checkpoint = str(init.get('checkpoint', ''))
        if '://' in checkpoint or checkpoint.startswith(('torchvision', 'open-mmlab')):
            continue
        if not osp.isfile(checkpoint):
            backbone = key.rsplit('.init_cfg', 1)[0]
            raise ConfigInputError(
                f"pretrained checkpoint '{checkpoint}' ({key}) not found. Convert the "
                'official ImageNet weights with python tools/model_converters/dla2mmdla.py '
                f'SRC.pth {checkpoint}, or train from scratch with --cfg-options '
                f'{backbone}.init_cfg=None')


def check_config_inputs(cfg: Config, mode: str) -> None:
    """Pre-flight checks for ``mode`` 'train' (train + val data, pretrained weights) or
    'test' (test data)."""
    if mode == 'train':
        loaders = ['train_dataloader'] + (['val_dataloader'] if cfg.get('val_cfg') else [])
        check_data(cfg, loaders)
        check_pretrained(cfg)  # the Runner initialises weights even when it resumes
    else:
        check_data(cfg, ['test_dataloader'])
