"""Data transforms the DLA recipes need and mmseg lacks."""
import random
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmdla.registry import TRANSFORMS


@TRANSFORMS.register_module(libraries=('mmseg', ))  # mmpretrain has its own
class ColorJitter(BaseTransform):
    """Random brightness, contrast and saturation, as torchvision's ``ColorJitter``.

    Each enabled factor is drawn uniformly from ``[1 - x, 1 + x]`` and the three
    adjustments are applied in random order (the DLA recipes use 0.4 for all three):
    brightness scales the image, contrast blends it with its mean grey level, saturation
    blends it with its grey-scale version. Works on uint8 BGR or RGB images (the grey
    weights assume BGR, mmcv's default channel order) and returns uint8.

    Required keys: ``img``. Modified keys: ``img``.
    """

    def __init__(self,
                 brightness: float = 0.4,
                 contrast: float = 0.4,
                 saturation: float = 0.4,
                 channel_order: str = 'bgr'):
        for name, value in dict(
                brightness=brightness, contrast=contrast, saturation=saturation).items():
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


@TRANSFORMS.register_module()
class PCALighting(BaseTransform):
    """AlexNet-style PCA lighting noise, as the official DLA ImageNet training applies it.

    ``alpha ~ N(0, alphastd)`` per eigenvector; the RGB offset
    ``eigvec @ (alpha * eigval)`` is added to every pixel. The official code does this on
    the float tensor after ``ToTensor`` (0-1 scale, eigval / 255) without clipping; here
    it acts on 0-255 pixels with eigval on that scale (55.46, 4.794, 1.148) and returns a
    float32 image, again without clipping or rounding (mmpretrain's ``Lighting`` casts
    back to uint8, which wraps around at 0 and 255). ``channel_order`` is the order of the
    image's channels ('bgr' after mmcv's loading); ``eigvec`` rows are R, G, B.

    Required keys: ``img``. Modified keys: ``img`` (float32).
    """

    #: ImageNet RGB eigen decomposition used by the official code (0-255 scale)
    IMAGENET_EIGVAL = (55.46, 4.794, 1.148)
    IMAGENET_EIGVEC = ((-0.5675, 0.7192, 0.4009), (-0.5808, -0.0045, -0.8140), (-0.5836, -0.6948,
                                                                                0.4203))

    def __init__(self,
                 alphastd: float = 0.1,
                 eigval=IMAGENET_EIGVAL,
                 eigvec=IMAGENET_EIGVEC,
                 channel_order: str = 'bgr'):
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        self.alphastd = alphastd
        self.eigval = np.asarray(eigval, np.float32)
        self.eigvec = np.asarray(eigvec, np.float32)
        if self.eigval.shape != (3, ) or self.eigvec.shape != (3, 3):
            raise ValueError('PCALighting needs 3 eigenvalues and a 3x3 eigenvector matrix')
        self.channel_order = channel_order

    def transform(self, results: dict) -> Optional[dict]:
        alpha = np.random.normal(0, self.alphastd, size=3).astype(np.float32)
        offset_rgb = self.eigvec @ (alpha * self.eigval)
        offset = offset_rgb[::-1] if self.channel_order == 'bgr' else offset_rgb
        results['img'] = results['img'].astype(np.float32) + offset.reshape(1, 1, 3)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(alphastd={self.alphastd})'
