# dla60 fine-tuned on the same data with the same recipe: dla34_cub.py with the
# DLA-60 backbone (timm's ImageNet weights by name) and a 1024-channel classifier.
_base_ = './dla34_cub.py'
model = dict(
    backbone=dict(arch='dla60', init_cfg=dict(checkpoint='hf-hub:timm/dla60.in1k')),
    head=dict(in_channels=1024))
