"""The hook configs of a config, wherever they are listed."""
from typing import List


def hook_cfgs(cfg) -> List[dict]:
    """The hook dicts of ``default_hooks`` (a dict; ``None`` entries removed) and ``custom_hooks`` (a
    list). The plugin's hooks go in ``default_hooks`` so that a student config's ``custom_hooks`` are
    inherited; older configs list them in ``custom_hooks``."""
    defaults = [h for h in (cfg.get('default_hooks') or {}).values() if isinstance(h, dict)]
    return defaults + list(cfg.get('custom_hooks') or [])


def hook_type(hook_cfg: dict) -> str:
    """``'PSKDHook'`` for ``dict(type='mmrazor.PSKDHook')`` and ``dict(type='PSKDHook')``."""
    return str(hook_cfg.get('type', '')).split('.')[-1]
