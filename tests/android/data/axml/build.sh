#!/bin/sh
# Rebuild the binary fixtures of this folder from src/ with Debian's apktool and aapt2.
#
#   AndroidManifest.xml            aapt2-compiled manifest (UTF-16 string pool)
#   resources.arsc                 its resource table (dense entries, a default and an fr config)
#   resources-sparse.arsc          the same resources linked with --enable-sparse-encoding
#                                  (minSdkVersion 26, which sparse encoding needs)
#   network_security_config.xml    compiled res/xml/network_security_config.xml
#   obfuscated/AndroidManifest.xml AndroidManifest.xml rewritten by make_obfuscated.py
#
# aapt2 2.19 (Debian) predates <queries>; a wrapper adds --warn-manifest-validation to
# "aapt2 link" so the element is kept, as newer aapt2 and Android do.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/bin"
cat > "$work/bin/aapt2" <<'WRAP'
#!/bin/sh
if [ "$1" = "link" ]; then shift; exec /usr/bin/aapt2 link --warn-manifest-validation "$@"; fi
exec /usr/bin/aapt2 "$@"
WRAP
chmod +x "$work/bin/aapt2"
export PATH="$work/bin:$PATH"

build() {  # build <source dir> <apk>
    apktool b --use-aapt2 -p "$work/framework" "$1" -o "$2" >"$work/apktool.log" 2>&1 \
        || { cat "$work/apktool.log"; exit 1; }
}

cp -r "$here/src" "$work/dense"
build "$work/dense" "$work/dense.apk"
cp -r "$here/src" "$work/sparse"
sed -i 's/android:minSdkVersion="Tiramisu"/android:minSdkVersion="26"/' "$work/sparse/AndroidManifest.xml"
sed -i 's/sparseResources: false/sparseResources: true/' "$work/sparse/apktool.yml"
build "$work/sparse" "$work/sparse.apk"

unzip -o -q "$work/dense.apk" -d "$work/dense-out"
unzip -o -q "$work/sparse.apk" -d "$work/sparse-out"
cp "$work/dense-out/AndroidManifest.xml" "$here/AndroidManifest.xml"
cp "$work/dense-out/resources.arsc" "$here/resources.arsc"
cp "$work/dense-out/res/xml/network_security_config.xml" "$here/network_security_config.xml"
cp "$work/sparse-out/resources.arsc" "$here/resources-sparse.arsc"
mkdir -p "$here/obfuscated"
python3 "$here/make_obfuscated.py" "$here/AndroidManifest.xml" "$here/obfuscated/AndroidManifest.xml"
echo "fixtures rebuilt in $here"
