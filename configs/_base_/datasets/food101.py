# Food-101 (101 classes, 75750 train / 25250 test) with mmpretrain's Food101:
# data/food-101/{images/, meta/train.txt, meta/test.txt, meta/classes.txt}
_base_ = './fine_grained.py'
num_classes = 101
data_root = 'data/food-101'
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='Food101',
        data_root=data_root,
        split='train',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='Food101',
        data_root=data_root,
        split='test',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
