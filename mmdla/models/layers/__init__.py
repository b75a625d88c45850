from .ida import bilinear_kernel, bilinear_upsampling, crop_to, dla_up_steps, fill_bilinear_

__all__ = ['bilinear_kernel', 'bilinear_upsampling', 'crop_to', 'dla_up_steps', 'fill_bilinear_']
