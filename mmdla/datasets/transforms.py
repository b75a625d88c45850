"""Data transforms the DLA recipes need and mmseg lacks."""
import random
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmdla.registry import register


class ColorJitter(BaseTransform):
    """Random brightness, contrast and saturation, as torchvision's ``ColorJitter``.

    Each enabled factor is drawn uniformly from ``[1 - x, 1 + x]`` and the three
    adjustments are applied in random order (the DLA recipes use 0.4 for all three):
    brightness scales the image, contrast blends it with its mean grey level, saturation
    blends it with its grey-scale version. Works on uint8 BGR or RGB images (the grey
    weights assume BGR, mmcv's default channel order) and returns uint8.

    Required keys: ``img``. Modified keys: ``img``.
    """

    def __init__(self, brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.4,
                 channel_order: str = 'bgr'):
        for name, value in dict(brightness=brightness, contrast=contrast,
                                saturation=saturation).items():
            if not 0 <= value <= 1:
                raise ValueError(f'ColorJitter {name} must be in [0, 1], got {value}')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation
        weights = np.array([0.114, 0.587, 0.299], np.float32)  # B, G, R
        self.grey_weights = weights if channel_order == 'bgr' else weights[::-1].copy()

    def _grey(self, img: np.ndarray) -> np.ndarray:
        return (img @ self.grey_weights)[..., None]

    def transform(self, results: dict) -> Optional[dict]:
        img = results['img'].astype(np.float32)
        ops = [('brightness', self.brightness), ('contrast', self.contrast),
               ('saturation', self.saturation)]
        random.shuffle(ops)
        for name, strength in ops:
            if strength == 0:
                continue
            factor = random.uniform(1 - strength, 1 + strength)
            if name == 'brightness':
                img = img * factor
            elif name == 'contrast':
                img = img * factor + self._grey(img).mean() * (1 - factor)
            else:
                img = img * factor + self._grey(img) * (1 - factor)
            img = np.clip(img, 0, 255)
        results['img'] = np.round(img).astype(np.uint8)
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation})')


register(ColorJitter, 'TRANSFORMS', ('mmseg', ))
