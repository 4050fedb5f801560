"""Experiment tooling, outside the library's data flow: `reporting` (results tables),
`plots`, `training_speed` and `serving_speed` (benchmarks behind results/)."""
