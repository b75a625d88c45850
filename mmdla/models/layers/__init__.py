from .deform_conv import (PortableModulatedDeformConv2dPack, is_mmcv_deform_conv,
                          modulated_deform_conv2d, portable_deform_convs)
from .ida import bilinear_kernel, bilinear_upsampling, crop_to, dla_up_steps, fill_bilinear_

__all__ = [
    'PortableModulatedDeformConv2dPack', 'bilinear_kernel', 'bilinear_upsampling', 'crop_to',
    'dla_up_steps', 'fill_bilinear_', 'is_mmcv_deform_conv', 'modulated_deform_conv2d',
    'portable_deform_convs'
]
