"""The accuracy table: per variant the metric per seed, mean ± std, gain over the baseline mean.

Written by ``tools/benchmarks/accuracy.py`` as ``results.json``, ``results.md`` and ``results.png``.
The std is the sample standard deviation (n - 1). A variant *gains* when its mean exceeds the
baseline mean by more than 2 baseline std; the suite is *able to separate methods* when the baseline
std is at most a third of the best peer's gain.
"""
import json
import math
import statistics
from typing import Dict, List, Optional

from accuracy_suite import BASELINE, Suite, Variant


def mean_std(values: List[float]):
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(suite: Suite, variants: List[Variant], seeds: int, outcomes: Dict[str, dict]) -> dict:
    """Aggregate ``outcomes`` (``{run name: {'value' or 'error'}}``) into the results dict."""
    rows = []
    for v in variants:
        per_seed, errors = [], []
        for s in range(seeds):
            outcome = outcomes.get(f'{v.name} seed {s}', {})
            per_seed.append(outcome.get('value'))
            if outcome.get('error'):
                errors.append(f'seed {s}: {outcome["error"]}')
        values = [x for x in per_seed if x is not None]
        mean, std = mean_std(values)
        rows.append(dict(name=v.name, label=v.label, peer=v.peer, config=v.config, options=v.options,
                         per_seed=per_seed, mean=mean, std=std, n=len(values), errors=errors,
                         target=v.target))
    base = next((r for r in rows if r['name'] == BASELINE), None)
    for r in rows:
        if r['name'] == BASELINE or base is None or r['mean'] is None or base['mean'] is None:
            r['gain'], r['gains'] = None, None
            continue
        r['gain'] = r['mean'] - base['mean']
        r['gains'] = r['gain'] > 2 * base['std'] if base['n'] > 1 else None
    peers = [r for r in rows if r['peer'] and r['gain'] is not None]
    best_peer = max(peers, key=lambda r: r['gain'], default=None)
    separation = None
    if best_peer is not None and base['n'] > 1 and best_peer['gain'] > 0:
        separation = dict(peer=best_peer['name'], baseline_std=base['std'], peer_gain=best_peer['gain'],
                          ratio=base['std'] / best_peer['gain'], ok=base['std'] <= best_peer['gain'] / 3)
    name = f'{suite.path} [{suite.name}]' if suite.name else suite.path
    return dict(suite=name, metric=suite.metric, seeds=seeds, rows=rows, separation=separation)


def _fmt(x: Optional[float], digits: int = 3, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return '–'
    return f'{x:+.{digits}f}' if sign else f'{x:.{digits}f}'


def _verdict(r: dict, base_std: Optional[float]) -> str:
    if r['errors'] and r['n'] == 0:
        return '**failed**: ' + '; '.join(r['errors'])[:300]
    if r['name'] == BASELINE:
        words = 'baseline'
    elif r['gains'] is None:
        words = 'needs ≥ 2 seeds'
    elif r['gains']:
        words = 'gains (> 2 baseline std)'
    elif r['gain'] < -2 * base_std:
        words = '**worse than the student alone** (by > 2 baseline std)'
    else:
        words = '**no gain** (within 2 baseline std)'
    if r['errors']:
        words += f"; {len(r['errors'])} run(s) failed: " + '; '.join(r['errors'])[:200]
    return words


def _target(r: dict) -> str:
    t = r.get('target')
    if not t:
        return ''
    base = f' (student {t["baseline"]})' if t.get('baseline') is not None else ''
    return f'{t["value"]}{base}, {t.get("source", "")}'


def markdown(results: dict, extra: str = '') -> str:
    seeds = results['seeds']
    head = (['variant', 'what'] + [f'seed {s}' for s in range(seeds)]
            + ['mean ± std', 'gain', 'verdict', 'published target'])
    lines = [f"# {results['suite']}: {results['metric']}, {seeds} seed(s)", '',
             '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    base_std = next((r['std'] for r in results['rows'] if r['name'] == BASELINE), None) or 0.0
    for r in results['rows']:
        mean = f"{_fmt(r['mean'])} ± {_fmt(r['std'])}" if r['mean'] is not None else '–'
        label = r['label'] + (' (peer)' if r['peer'] else '')
        cells = [r['name'], label] + [_fmt(x) for x in r['per_seed']] + [
            mean, _fmt(r['gain'], sign=True), _verdict(r, base_std), _target(r)]
        lines.append('| ' + ' | '.join(cells) + ' |')
    sep = results.get('separation')
    if sep:
        lines += ['', f"Baseline std {sep['baseline_std']:.4f} vs the best peer's gain "
                  f"({sep['peer']}) {sep['peer_gain']:+.4f}: ratio {sep['ratio']:.2f} "
                  f"({'≤' if sep['ok'] else '>'} 1/3, the suite "
                  f"{'separates' if sep['ok'] else 'does not yet separate'} methods)."]
    lines += ['', 'std: sample standard deviation over seeds (n − 1). gain: mean − the student '
              "alone's mean. A variant gains when that exceeds 2 × the student alone's std."]
    if extra:
        lines += ['', extra]
    return '\n'.join(lines) + '\n'


def plot(results: dict, path: str) -> None:
    """Bars of mean ± std per variant, the baseline mean ± 2 std as a band."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = [r for r in results['rows'] if r['mean'] is not None]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(rows) + 1.5), 3.6), dpi=120)
    colours = ['0.55' if r['name'] == BASELINE else ('tab:orange' if r['peer'] else 'tab:blue')
               for r in rows]
    xs = range(len(rows))
    ax.bar(xs, [r['mean'] for r in rows], yerr=[r['std'] for r in rows], capsize=4, color=colours)
    for x, r in zip(xs, rows):
        ax.plot([x] * r['n'], [v for v in r['per_seed'] if v is not None], 'k.', markersize=4)
    base = next((r for r in rows if r['name'] == BASELINE), None)
    if base is not None:
        ax.axhspan(base['mean'] - 2 * base['std'], base['mean'] + 2 * base['std'], color='0.85', zorder=0)
        ax.axhline(base['mean'], color='0.4', linewidth=0.8, zorder=0)
    values = [v for r in rows for v in r['per_seed'] if v is not None]
    low, high = min(values), max(values)
    pad = max(0.02, 0.25 * (high - low))
    ax.set_ylim(low - pad, high + pad)
    ax.set_xticks(list(xs), [r['name'] for r in rows], rotation=30, ha='right')
    ax.set_ylabel(results['metric'])
    ax.set_title(f"{results['suite'].split('/')[-1]}: mean ± std over {results['seeds']} seed(s)\n"
                 'grey band: student alone ± 2 std; orange: peers', fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write(results: dict, json_path: str, md_path: str, png_path: str, extra: str = '') -> None:
    with open(json_path, 'w') as f:
        json.dump(results, f, indent=2)
    with open(md_path, 'w') as f:
        f.write(markdown(results, extra))
    plot(results, png_path)
