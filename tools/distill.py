"""Write a distillation config from a student config and a teacher config.

    python tools/distill.py STUDENT_CONFIG TEACHER_CONFIG --teacher-ckpt CKPT --method acam_kd [--out CONFIG]

Both configs may be local files or installed packages' configs (``mmdet::...``, ``mmseg::...``). Each model
is built with random weights (nothing is downloaded) and run once on a zero image to measure what it offers:
its neck's and backbone's maps (stride, channels) and a segmentor's logits. Student and teacher maps are
paired by stride (mmkd_plugin/pairing/match.py), the pairing is printed, and a short config that inherits
the student config is written, with the pairing in its comments. Train it with ``tools/train.py CONFIG``.

Methods: ``acam_kd`` and ``cwd`` (features, or a segmentor's logits), ``nkd`` (the logits of a one-stage
dense head, a two-stage RoI head or a decode head). A pair the tool cannot match stops with exit code 2 and
a message naming the modules to record by hand and the config lines to write.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse
import os
import os.path as osp
import sys

from mmengine.config import ConfigDict

import mmkd_plugin  # noqa: F401
from mmkd_plugin.pairing import PairingError, pair_models, probe_model
from mmkd_plugin.pairing.config_writer import pairing_lines, write_config
from mmkd_plugin.pairing.match import METHODS, SOURCE_KINDS
from mmkd_plugin.pairing.probe import PROBE_SIZE, first_line
from mmkd_plugin.tool_paths import path_arg
from mmkd_plugin.tools_common import read_config


def model_of(config: str, role: str = 'student') -> ConfigDict:
    """The ``model`` of a config, with the config's ``default_scope`` as its ``_scope_``.

    Raises:
        PairingError: the config is already a distillation config (its model has a student ``architecture``),
            or it does not load here (an optional package its ``custom_imports`` names, a missing base).
    """
    try:
        cfg = read_config(config)
    except Exception as e:  # noqa: B902 (any config's error): name it and the config, not a traceback
        raise PairingError(f'The {role} config {config} does not load here: {first_line(e)}\nFix what it names '
                           '(an optional package such as mmpretrain, a base config it reads), then run '
                           'tools/distill.py again.') from e
    model = cfg.model
    if 'architecture' in model:
        raise PairingError(f'{config} is a distillation config (its model is {model.get("type")} with a student '
                           f'`architecture`), not a {role} config. Give the {role} model\'s own config (for a '
                           'distillation config of this plugin: its `_base_`, or its `teacher_cfg` for the teacher).')
    if '_scope_' not in model and cfg.get('default_scope'):
        model['_scope_'] = cfg.default_scope
    return model


def inheritable(student, teacher) -> list:
    """The neck and heads (``bbox_head``, or a two-stage detector's ``rpn_head`` and ``roi_head``) when each has
    the same parameter shapes on both sides, else ``[]``."""
    heads = [name for name in ('bbox_head', 'rpn_head', 'roi_head') if name in student.shapes]
    names = ['neck'] + heads
    same = heads and all(name in student.shapes and student.shapes[name] == teacher.shapes.get(name)
                         for name in names)
    return names if same else []


def default_out(student_cfg: str, teacher_cfg: str, method: str) -> str:
    def stem(path):
        return osp.splitext(osp.basename(path.split('::')[-1]))[0]
    return f'{method.replace("_", "-")}_{stem(teacher_cfg)}_{stem(student_cfg)}.py'


def generate(student_cfg: str, teacher_cfg: str, method: str, teacher_ckpt=None, out=None, source=None,
             inherit=True, size=PROBE_SIZE, probes=None, device='cpu'):
    """``(config text, output path, pairing)``; raises ``PairingError`` for a pair it cannot match.

    ``probes``: a dict that keeps each config's probe for the next call (one build per config); ``device``:
    where the probe forwards run.
    """
    probes = {} if probes is None else probes
    for cfg, role in ((student_cfg, 'student'), (teacher_cfg, 'teacher')):
        if (cfg, size) not in probes:
            probes[cfg, size] = probe_model(model_of(cfg, role), role, size, device)
    student, teacher = probes[student_cfg, size], probes[teacher_cfg, size]
    pairing = pair_models(student, teacher, method, source)
    inherit_from = inheritable(student, teacher) if inherit and method != 'nkd' and student.task == 'detection' \
        else []
    out = out or default_out(student_cfg, teacher_cfg, method)
    text = write_config(pairing, method, student_cfg, teacher_cfg, teacher_ckpt, osp.dirname(out) or '.',
                        inherit_from)
    return text, out, pairing


def main(argv=None):
    parser = argparse.ArgumentParser(description='Write a distillation config from a student and a teacher config')
    parser.add_argument('student', type=path_arg('config'), help='the student config (local file or pkg::path)')
    parser.add_argument('teacher', type=path_arg('config'), help='the teacher config (local file or pkg::path)')
    parser.add_argument('--teacher-ckpt', help='the teacher checkpoint (a local file or a URL; written as given)')
    parser.add_argument('--method', required=True, choices=METHODS)
    parser.add_argument('--out', type=path_arg('out_file'),
                        help='the config to write (default: METHOD_TEACHER_STUDENT.py in the current folder)')
    parser.add_argument('--source', choices=SOURCE_KINDS,
                        help='feature methods: distil these outputs (default: the necks, else the backbones; '
                        "a segmentor's logits)")
    parser.add_argument('--no-inherit', action='store_true',
                        help="do not start the student's neck and head from the teacher's where the shapes match")
    parser.add_argument('--probe-size', type=int, default=PROBE_SIZE, help='side of the probe image in pixels')
    parser.add_argument('--probe-device', default='cpu', choices=('cpu', 'cuda'),
                        help="where the probe forwards run ('cuda' for models with ops that have no CPU kernel)")
    parser.add_argument('--force', action='store_true', help='overwrite --out if it exists')
    args = parser.parse_args(argv)
    if args.probe_device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            parser.error('--probe-device cuda: torch sees no CUDA device here; run it on a machine with a GPU '
                         '(or leave --probe-device at cpu)')
    if not args.teacher_ckpt:
        print('note: no --teacher-ckpt; the config gets a placeholder to fill in', file=sys.stderr)
    try:
        text, out, pairing = generate(args.student, args.teacher, args.method, args.teacher_ckpt, args.out,
                                      args.source, not args.no_inherit, args.probe_size, device=args.probe_device)
    except PairingError as e:
        print(f'tools/distill.py: cannot pair {args.student} with {args.teacher} for {args.method}:\n{e}',
              file=sys.stderr)
        raise SystemExit(2) from None
    if osp.exists(out) and not args.force:
        parser.error(f'argument --out: {out} exists; give another path or --force to overwrite it')
    os.makedirs(osp.dirname(out) or '.', exist_ok=True)
    with open(out, 'w') as f:
        f.write(text)
    print(f'paired ({pairing.kind}; student -> teacher, stride, channels):')
    for line in pairing_lines(pairing):
        print(f'  {line}')
    print(f'wrote {out}\ncheck it:  python tools/check_config.py {out}\ntrain it:  python tools/train.py {out}')


if __name__ == '__main__':
    main()
