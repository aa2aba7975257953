"""Small, typed analysis functions the claims call: similarity and regions, PCA and the V, neuron groups,
ablations and causal scrubbing. numpy only; no torch, no pytest."""
