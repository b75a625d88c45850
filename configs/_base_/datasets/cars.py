# Stanford Cars (196 classes, 8144 train / 8041 test) with mmpretrain's StanfordCars:
# data/stanfordcars/ in either layout mmpretrain documents (cars_train/, cars_test/,
# devkit/ + cars_test_annos_withlabels.mat, or the newer car_data/ layout).
_base_ = './fine_grained.py'
num_classes = 196
data_root = 'data/stanfordcars'
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='StanfordCars',
        data_root=data_root,
        split='train',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='StanfordCars',
        data_root=data_root,
        split='test',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
