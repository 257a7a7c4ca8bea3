#!/bin/sh
# Installs the Python notifier into a plugins_dir: the script as
# DIR/notify-python, and beside it DIR/notify-python.lib/, the Python
# modules generated from the .proto files (Wigo's contract in sdk/proto,
# go-plugin's health and shutdown services in proto/goplugin). Nothing
# generated is committed: run it again after a .proto file changes.
#
#   sdk/examples/notify-python/build.sh /usr/lib/wigo/plugins
#
# Needs protoc and grpc_python_plugin (Debian: protobuf-compiler,
# protobuf-compiler-grpc); the plugin runs on python3-grpcio,
# python3-protobuf and python3-cryptography.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 PLUGINS_DIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=$1
for tool in protoc grpc_python_plugin; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$0: $tool is not installed: apt-get install -y protobuf-compiler protobuf-compiler-grpc" >&2
		exit 1
	fi
done

mkdir -p "$out"
lib=$out/notify-python.lib
# Generated aside, then swapped in, so a failed run leaves the old modules.
rm -rf "$lib.new"
mkdir "$lib.new"
protoc -I "$here/../../proto" -I "$here/proto" \
	--plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
	--python_out="$lib.new" --grpc_python_out="$lib.new" \
	wigo/plugin/v1/base.proto wigo/plugin/v1/notifier.proto \
	goplugin/health.proto goplugin/grpc_controller.proto
rm -rf "$lib"
mv "$lib.new" "$lib"
cp "$here/notify_python.py" "$out/notify-python"
chmod 755 "$out/notify-python"
