# dla34 fine-tuned on Stanford Cars (DLA paper §4.2).
# Recipe (configs/_base_/schedules/finetune_60e.py): mmdla's fine-tuning recipe - the
# official ImageNet recipe with lr 0.01, batch 64, 60 epochs - since the paper gives none.
# The backbone starts from timm's ImageNet weights by name (hf-hub:timm/dla34.in1k, converted
# in memory) and the classifier is new.
_base_ = [
    './_base_/models/dla_cls.py', './_base_/datasets/cars.py', './_base_/schedules/finetune_60e.py',
    './_base_/cls_runtime.py'
]
model = dict(
    backbone=dict(
        arch='dla34',
        init_cfg=dict(type='Pretrained', checkpoint='hf-hub:timm/dla34.in1k', prefix='backbone.')),
    head=dict(num_classes={{_base_.num_classes}}, in_channels=512, topk=(1, )))
