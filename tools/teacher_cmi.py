"""The conditional mutual information of one or more teacher checkpoints (MCMI, Ye et al., ICLR 2024).

    python tools/teacher_cmi.py MCMI_CONFIG CHECKPOINT [CHECKPOINT ...] [--split train|val]
                                [--mode eval|train] [--cfg-options ...] [--out cmi.json]

    # the teacher before and after MCMI fine-tuning:
    python tools/teacher_cmi.py configs/mcmi/mcmi_deeplabv3-r101-d8_8k-ft_cityscapes-512x1024.py \
        teacher.pth work_dirs/mcmi_deeplabv3-r101-d8_8k-ft_cityscapes-512x1024/iter_8000_student.pth

MCMI_CONFIG is an MCMI fine-tuning config (configs/mcmi): it says which logits and labels make the rows
(pixels, positive anchors). For each checkpoint (a plain teacher, a fine-tuned teacher's export, or an
MCMI run's checkpoint) one pass over the split computes the class centroids Q_y and
I_hat = (1/N) sum_i KL(P_i || Q_{y_i}) in nats; a table (and ``--out`` JSON) gives the values side by side.
"""
import warnings  # first: setuptools<82 (pinned for pkg_resources) warns on every OpenMMLab import
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
import argparse
import copy
import json

from mmengine.config import Config, DictAction
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner, set_random_seed

import mmkd_plugin  # noqa: F401
from mmkd_plugin.tools_common import read_config
from mmkd_plugin.tool_paths import make_parent, path_arg
from mmkd_plugin.engine.hooks.mcmi_centroid_hook import CENTROID_MODES, collect_mcmi_statistics, one_pass_loader


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="A teacher's conditional mutual information (MCMI)")
    parser.add_argument('config', type=path_arg('config'),
                        help='an MCMI fine-tuning config (configs/mcmi), local or pkg::path')
    parser.add_argument('checkpoints', nargs='+', type=path_arg('checkpoint'), help='teacher checkpoints to measure')
    parser.add_argument('--split', choices=['train', 'val'], default='train',
                        help='the dataloader to pass over (default: train, as the centroids are computed)')
    parser.add_argument('--mode', choices=CENTROID_MODES, default='eval', help='model mode during the pass')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random augmentation, the same for every checkpoint (default 0)')
    parser.add_argument('--out', type=path_arg('out_file'), help='write the results as JSON here')
    return parser.parse_args(argv)


def measure(cfg: Config, checkpoint: str, split: str, mode: str, seed: int) -> dict:
    set_random_seed(seed)  # the same random crops and flips for every checkpoint
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.teacher_ckpt = checkpoint
    model = MODELS.build(model_cfg).to(get_device())
    loader = one_pass_loader(Runner.build_dataloader(copy.deepcopy(cfg[f'{split}_dataloader'])))
    statistics = collect_mcmi_statistics(model, loader, mode, store=False)[0]
    return dict(checkpoint=checkpoint, cmi=statistics.cmi(), rows=int(statistics.counts.sum()),
                classes_seen=int((statistics.counts > 0).sum()))


def main(argv=None):
    args = parse_args(argv)
    cfg = read_config(args.config, args.cfg_options)
    if cfg.model.get('type') != 'MCMIFineTune':
        raise SystemExit(f'{args.config} is not an MCMI fine-tuning config (model.type={cfg.model.get("type")!r}); '
                         'use one of configs/mcmi, which say where the logits and labels come from.')
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    results = [measure(cfg, ckpt, args.split, args.mode, args.seed) for ckpt in args.checkpoints]
    lines = ['', f'| checkpoint | CMI ({args.split} split, nats) | rows | classes seen |', '|---|---|---|---|']
    lines += [f"| {r['checkpoint']} | {r['cmi']:.4f} | {r['rows']} | {r['classes_seen']} |" for r in results]
    print_log('\n'.join(lines), logger='current')
    if args.out:
        with open(make_parent(args.out), 'w') as f:
            json.dump(dict(config=args.config, split=args.split, mode=args.mode, results=results), f, indent=2)


if __name__ == '__main__':
    main()
