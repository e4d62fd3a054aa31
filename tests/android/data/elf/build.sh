#!/bin/sh
# Rebuilds the native libraries of tests/android/test_elf.py from probe.c.
# Needs Debian's gcc, gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf and llvm (for llvm-strip).
#   libprobe.so          x86-64
#   libprobe-arm64.so    aarch64, the ABI most Android apps ship
#   libprobe-arm.so      32-bit ARM (armeabi-v7a)
#   libprobe-noshdr.so   libprobe-arm64.so without any section header, as packers leave libraries
# All are stripped of symbols; small pages keep the files a few kilobytes long.
set -eu
cd "$(dirname "$0")"
flags="-shared -fPIC -Os -s -Wl,--no-as-needed -lm -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code -Wl,--build-id=none"
# shellcheck disable=SC2086
gcc -o libprobe.so probe.c $flags
# shellcheck disable=SC2086
aarch64-linux-gnu-gcc -o libprobe-arm64.so probe.c $flags
# shellcheck disable=SC2086
arm-linux-gnueabihf-gcc -o libprobe-arm.so probe.c $flags
llvm-strip --strip-sections -o libprobe-noshdr.so libprobe-arm64.so
