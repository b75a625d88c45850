# dla102x fine-tuned on the same data with the same recipe: dla34_cub.py with the
# DLA-X-102 backbone (converted official ImageNet weights) and a 1024-channel classifier.
_base_ = './dla34_cub.py'
model = dict(
    backbone=dict(arch='dla102x', init_cfg=dict(checkpoint='checkpoints/dla102x_imagenet.pth')),
    head=dict(in_channels=1024))
