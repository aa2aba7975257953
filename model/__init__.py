"""The challenge network, its checkpoint format, and intervention helpers.

Only :mod:`model.network`, :mod:`model.featurevis` and :mod:`model.train` import torch, and only when
called, so that a warm claims run (everything cached) never pays torch's import cost.
"""
