# DLA-34 ImageNet classifier (mmpretrain): DLA + global average pooling + linear head.
# Logits equal the official network's (AvgPool(7) + 1x1-conv fc at 224x224).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='DLA', arch='dla34', out_indices=(5, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
