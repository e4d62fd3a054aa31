#!/bin/sh
# Rebuilds the signed test APKs of tests/android/test_signing.py with Debian's apktool, zipalign,
# keytool and apksigner.
#
# The keystores are kept when present so that a rebuild gives the same certificates (the tests pin
# their SHA-256); delete them to mint new keys, then update the expected values in the tests
# (`apksigner verify --print-certs <apk>` prints them). The passwords are for these tests only.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=appvet-test

genkey() { # keystore alias keyalg dname
    if [ ! -f "$1" ]; then
        keytool -genkeypair -keystore "$1" -storetype PKCS12 -storepass "$pass" -keypass "$pass" \
            -alias "$2" -keyalg "$3" $( [ "$3" = RSA ] && echo "-keysize 2048" || echo "-groupname secp256r1" ) \
            -startdate "2024/01/01 00:00:00" -validity 9125 -dname "$4"
    fi
}

genkey cn.p12 cn RSA "CN=Test, O=Beijing Test Technology Co Ltd, L=Beijing, C=CN"
genkey us.p12 us EC "CN=Example Signer, O=Example Corp, C=US"

# apktool keeps its framework under $HOME; give it a private one.
cp -R app "$work/app"
HOME="$work" apktool b "$work/app" -o "$work/unsigned.apk" >/dev/null
zipalign -f 4 "$work/unsigned.apk" "$work/aligned.apk"

sign() { # output, then apksigner options
    out=$1
    shift
    apksigner sign --in "$work/aligned.apk" --out "$out" "$@"
    rm -f "$out.idsig"
}
cn="--ks cn.p12 --ks-key-alias cn --ks-pass pass:$pass --key-pass pass:$pass"
us="--ks us.p12 --ks-key-alias us --ks-pass pass:$pass --key-pass pass:$pass"

# shellcheck disable=SC2086
sign v1v2v3.apk $cn \
    --v1-signing-enabled true --v2-signing-enabled true --v3-signing-enabled true --v4-signing-enabled false
# shellcheck disable=SC2086
sign v1-only.apk $us \
    --v1-signing-enabled true --v2-signing-enabled false --v3-signing-enabled false --v4-signing-enabled false
# shellcheck disable=SC2086
sign v2-only.apk $us --min-sdk-version 24 \
    --v1-signing-enabled false --v2-signing-enabled true --v3-signing-enabled false --v4-signing-enabled false
# Two signers side by side (v1 and v2 allow several; v3 does not).
# shellcheck disable=SC2086
sign two-signers.apk $cn --next-signer $us \
    --v1-signing-enabled true --v2-signing-enabled true --v3-signing-enabled false --v4-signing-enabled false
# Key rotation: v1 and v2 carry the old key, v3 the new one with a proof-of-rotation lineage.
# shellcheck disable=SC2086
apksigner rotate --out "$work/lineage.bin" --old-signer $cn --new-signer $us
# shellcheck disable=SC2086
sign rotated.apk $cn --next-signer $us --lineage "$work/lineage.bin" \
    --v1-signing-enabled true --v2-signing-enabled true --v3-signing-enabled true --v4-signing-enabled false

for apk in v1v2v3.apk v1-only.apk v2-only.apk two-signers.apk rotated.apk; do
    echo "== $apk"
    # The v2-only APK installs from Android 7.0 (API 24) on, as its signature says.
    case $apk in v2-only.apk) min="--min-sdk-version 24" ;; *) min="" ;; esac
    # shellcheck disable=SC2086
    apksigner verify --verbose --print-certs $min "$apk" | grep -E "Verified using|Signer #[0-9]+ certificate (DN|SHA-256)"
done
