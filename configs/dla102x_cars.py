# dla102x fine-tuned on the same data with the same recipe: dla34_cars.py with the
# DLA-X-102 backbone (timm's ImageNet weights by name) and a 1024-channel classifier.
_base_ = './dla34_cars.py'
model = dict(
    backbone=dict(arch='dla102x', init_cfg=dict(checkpoint='hf-hub:timm/dla102x.in1k')),
    head=dict(in_channels=1024))
