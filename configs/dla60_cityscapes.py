# DLA-60 + DLA-Up on Cityscapes: dla34_cityscapes.py with the DLA-60 backbone.
_base_ = './dla34_cityscapes.py'
model = dict(
    backbone=dict(arch='dla60', init_cfg=dict(checkpoint='hf-hub:timm/dla60.in1k')),
    decode_head=dict(in_channels=[32, 128, 256, 512, 1024]))
