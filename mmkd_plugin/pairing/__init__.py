"""Pair a student's and a teacher's features or logits from their configs (``tools/distill.py``)."""
from .match import Pair, Pairing, PairingError, pair_models
from .probe import Level, Probe, Source, probe_model

__all__ = ['Level', 'Pair', 'Pairing', 'PairingError', 'Probe', 'Source', 'pair_models', 'probe_model']
