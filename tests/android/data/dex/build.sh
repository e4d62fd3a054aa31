#!/bin/sh
# Rebuilds the DEX test inputs from their smali sources with Debian's smali (package apktool),
# and records what dexdump disassembles, which tests/android/test_dex.py treats as the truth.
set -eu
cd "$(dirname "$0")"
smali assemble --api 26 -o sample.dex sample_smali
dexdump -d sample.dex > sample.dexdump.txt
