"""Check the module names a distiller's recorders hook before MMRazor asserts on them.

MMRazor answers a wrong recorder ``source`` with a bare ``AssertionError: "<name>" is not in the
model`` (open-mmlab/mmrazor#174, #636). This names the recorder, the model it was looked for in,
and the closest module names.
"""
import difflib
from typing import Mapping, Optional

from torch import nn

# Recorders whose ``source`` is a submodule name of the model.
MODULE_RECORDERS = ('ModuleOutputs', 'ModuleInputs', 'ModuleOutputsRecorder',
                    'ModuleInputsRecorder')


def check_recorder_sources(recorders: Optional[Mapping], model: nn.Module, role: str) -> None:
    """Raise ``ValueError`` for any module recorder whose ``source`` is not a module of ``model``."""
    if not recorders:
        return
    names = [name for name, _ in model.named_modules() if name]
    known = set(names)
    for key, recorder in recorders.items():
        if recorder.get('type') not in MODULE_RECORDERS:
            continue
        source = recorder.get('source')
        if source in known:
            continue
        close = difflib.get_close_matches(str(source), names, n=5, cutoff=0.5)
        hint = f' Closest names: {close}.' if close else ''
        raise ValueError(
            f"{role}_recorders['{key}'] records module {source!r}, which is not a module of the "
            f'{role} ({type(model).__name__}).{hint} Fix `source` in the distiller config; '
            f'`[n for n, _ in model.named_modules()]` lists every valid name.')
