"""``fxr evaluate``: the study's metrics, the identifiability floor, the evaluation itself."""
