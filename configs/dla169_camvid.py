# DLA-169 + DLA-Up on CamVid: dla34_camvid.py with the DLA-169 backbone.
_base_ = './dla34_camvid.py'
model = dict(
    backbone=dict(arch='dla169', init_cfg=dict(checkpoint='hf-hub:timm/dla169.in1k')),
    decode_head=dict(in_channels=[32, 128, 256, 512, 1024]))
