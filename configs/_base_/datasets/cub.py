# CUB-200-2011 (Birds, 200 classes, 5994 train / 5794 test) with mmpretrain's CUB dataset:
# data/CUB_200_2011/{images/, images.txt, image_class_labels.txt, train_test_split.txt}
_base_ = './fine_grained.py'
num_classes = 200
data_root = 'data/CUB_200_2011'
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CUB',
        data_root=data_root,
        split='train',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CUB',
        data_root=data_root,
        split='test',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
