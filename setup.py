"""Install mmdla.

``pip install -e '.[all]'`` installs mmdla on top of an existing OpenMMLab stack
(``[seg]``: MMSegmentation only, ``[cls]``: MMPretrain only, ``[det]``: MMDetection only).
It deliberately does not list torch / torchvision / mmcv: they must match your CUDA (or CPU)
setup and are installed first (``bash tools/setup_env.sh`` on a CPU machine; README.md for
GPUs).

Like MMSegmentation's setup.py it adds the files OpenMMLab's ``mim`` needs (``mim train /
test / search mmdla``) under ``mmdla/.mim/``: configs/, tools/, demo/ and model-index.yml,
as symlinks to the repository for an editable install (``pip install -e .``) and as copies
for a wheel or an sdist.
"""
import contextlib
import os
import os.path as osp
import shutil
import sys
import warnings
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
#: what ``mim`` looks for in ``<package>/.mim`` (model-index.yml imports configs/metafile_*)
MIM_FILES = ('configs', 'tools', 'demo', 'model-index.yml')


def read_requirements(path):
    with open(osp.join(HERE, path)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


def read_version():
    scope = {}
    with open(osp.join(HERE, 'mmdla', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def mim_install_mode(argv):
    """'symlink' for an editable install, 'copy' for a wheel or an sdist, else None.

    ``pip install -e .`` runs ``setup.py develop`` with the legacy setuptools and
    ``setup.py editable_wheel`` (PEP 660) with setuptools >= 64; ``pip install .`` and
    ``pip wheel .`` run ``bdist_wheel``. The metadata steps (egg_info, dist_info) of both
    leave ``mmdla/.mim`` as it is.
    """
    if 'develop' in argv or 'editable_wheel' in argv:
        return 'symlink'
    if 'bdist_wheel' in argv or 'sdist' in argv:
        return 'copy'
    return None


def _remove(path):
    if osp.islink(path) or osp.isfile(path):
        os.remove(path)
    elif osp.isdir(path):
        shutil.rmtree(path)


def _place(src, dst, mode):
    """``dst`` becomes a relative symlink to ``src`` or a copy of it."""
    _remove(dst)
    if mode == 'symlink':
        try:
            os.symlink(osp.relpath(src, osp.dirname(dst)), dst)
            return
        except OSError:  # e.g. Windows without the symlink privilege
            warnings.warn(f'cannot symlink {dst} -> {src}; copying it instead')
    if osp.isdir(src):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    else:
        shutil.copyfile(src, dst)


@contextlib.contextmanager
def mim_extension(argv):
    """Create ``mmdla/.mim/{configs,tools,demo,model-index.yml}`` for ``mim`` around
    ``setup()``.

    The copies a wheel / sdist build makes are put back to what was there before once the
    build is done (symlinks of an earlier editable install, or nothing), so that building a
    wheel in a development checkout does not leave ``mim`` reading stale copies.
    """
    mode = mim_install_mode(argv)
    mim_dir = osp.join(HERE, 'mmdla', '.mim')
    # (building from an unpacked sdist: the sources are gone, its .mim copies are kept)
    names = [n for n in MIM_FILES if osp.exists(osp.join(HERE, n))] if mode else []
    before = {
        n: osp.islink(osp.join(mim_dir, n))
        for n in names if osp.lexists(osp.join(mim_dir, n))
    }
    if names:
        os.makedirs(mim_dir, exist_ok=True)
    for name in names:
        _place(osp.join(HERE, name), osp.join(mim_dir, name), mode)
    try:
        yield
    finally:
        if mode == 'copy':
            for name in names:
                if name not in before:
                    _remove(osp.join(mim_dir, name))
                elif before[name]:
                    _place(osp.join(HERE, name), osp.join(mim_dir, name), 'symlink')
            if names and not os.listdir(mim_dir):
                os.rmdir(mim_dir)


if __name__ == '__main__':
    with mim_extension(sys.argv):
        setup(
            name='mmdla',
            version=read_version(),
            description='Deep Layer Aggregation (DLA, DLA-Up) for MMPretrain and '
            'MMSegmentation',
            long_description=open('README.md').read() if osp.exists('README.md') else '',
            long_description_content_type='text/markdown',
            license='Apache License 2.0',
            packages=find_packages(include=['mmdla', 'mmdla.*']),
            # mmdla/.mim (listed in MANIFEST.in) goes into wheels and sdists
            include_package_data=True,
            python_requires='>=3.8',
            install_requires=read_requirements('requirements/runtime.txt'),
            # The DLA backbone needs only mmengine + mmcv; each downstream library is an
            # extra: mmdla[seg] (DLA-Up, CamVid, segmentation tools), mmdla[cls]
            # (classification), mmdla[det] (CenterNet DLA-34 in MMDetection), mmdla[det3d]
            # (SMOKE in MMDetection3D; mmdet3d itself with --no-deps, see the file),
            # mmdla[deploy] (ONNX export + onnxruntime check), mmdla[openvino] (OpenVINO
            # fp32 / bf16 and NNCF int8).
            extras_require={
                'seg':
                read_requirements('requirements/seg.txt'),
                'cls':
                read_requirements('requirements/cls.txt'),
                'det':
                read_requirements('requirements/det.txt'),
                'det3d':
                read_requirements('requirements/det3d.txt'),
                'all':
                read_requirements('requirements/seg.txt') +
                read_requirements('requirements/cls.txt') +
                read_requirements('requirements/det.txt'),
                'deploy':
                read_requirements('requirements/deploy.txt'),
                'openvino':
                read_requirements('requirements/openvino.txt'),
                'tests':
                read_requirements('requirements/tests.txt'),
            },
            zip_safe=False,
        )
