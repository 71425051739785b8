#!/bin/sh
# Regenerates docs/eventd.1 ('eventd help --man') and docs/eventd.bash-completion ('eventd
# completion bash') from the published binary, so the man page, the completion script and
# 'eventd help' come from its one command table. The integration tests fail when a checked-in
# file differs from what the binary prints: run this (make docs) and commit the result.
set -eu
cd "$(dirname "$0")/.."
binary=${EVENTD_BINARY:-artifacts/eventd}
[ -x "$binary" ] || { echo "docs.sh: $binary not found: run 'make publish' first" >&2; exit 1; }
mkdir -p docs
"$binary" help --man >docs/eventd.1.new
mv -f docs/eventd.1.new docs/eventd.1
"$binary" completion bash >docs/eventd.bash-completion.new
mv -f docs/eventd.bash-completion.new docs/eventd.bash-completion
echo "wrote docs/eventd.1 and docs/eventd.bash-completion"
