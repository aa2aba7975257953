"""The challenge network, the labelling function's similarity, training, counterfactuals and interventions.

The lowest layer: nothing here imports fixtures/, analysis/, claims/ or report/. Only :mod:`model.network`,
:mod:`model.featurevis` and :mod:`model.train` import torch, and only when called, so that a warm claims run
(everything cached) never pays torch's import cost.
"""
