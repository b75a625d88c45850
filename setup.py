"""Install mmdla.

``pip install -e '.[all]'`` installs mmdla on top of an existing OpenMMLab stack
(``[seg]``: MMSegmentation only, ``[cls]``: MMPretrain only, ``[det]``: MMDetection only). It deliberately
does not list torch / torchvision / mmcv: they must match your CUDA (or CPU) setup and are
installed first (``bash tools/setup_env.sh`` on a CPU machine; README.md for GPUs).
"""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(path):
    here = osp.dirname(osp.abspath(__file__))
    with open(osp.join(here, path)) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith('#')]


def read_version():
    scope = {}
    with open(osp.join(osp.dirname(osp.abspath(__file__)), 'mmdla', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmdla',
    version=read_version(),
    description='Deep Layer Aggregation (DLA, DLA-Up) for MMPretrain and MMSegmentation',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(include=['mmdla', 'mmdla.*']),
    python_requires='>=3.8',
    install_requires=read_requirements('requirements/runtime.txt'),
    # The DLA backbone needs only mmengine + mmcv; each downstream library is an extra:
    # mmdla[seg] (DLA-Up, CamVid, segmentation tools), mmdla[cls] (classification),
    # mmdla[det] (CenterNet DLA-34 in MMDetection), mmdla[deploy] (ONNX export + onnxruntime check).
    extras_require={
        'seg': read_requirements('requirements/seg.txt'),
        'cls': read_requirements('requirements/cls.txt'),
        'det': read_requirements('requirements/det.txt'),
        'all': read_requirements('requirements/seg.txt')
        + read_requirements('requirements/cls.txt')
        + read_requirements('requirements/det.txt'),
        'deploy': read_requirements('requirements/deploy.txt'),
        'tests': read_requirements('requirements/tests.txt'),
    },
    zip_safe=False,
)
