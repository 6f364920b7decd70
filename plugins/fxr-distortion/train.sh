#!/bin/sh
# Remake distortion-wet.pt, the default estimator this plugin ships, with fxr's own
# recipe for a blind estimator (docs/estimate.md): about 4 minutes on 2 CPU cores.
# Run it where fxr and this plugin are installed: pip install ./plugins/fxr-distortion
set -e
here=$(dirname "$0")
work=$(mktemp -d)
fxr build --effect distortion --source synth:60 --max-clips 500 --seed 5 --out "$work/distortion.h5"
fxr fit --data "$work/distortion.h5" --epochs 8 --input wet --out "$work/run"
fxr evaluate "$work/run"
cp "$work/run/model.pt" "$here/fxr_distortion/distortion-wet.pt"
rm -rf "$work"
