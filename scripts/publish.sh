#!/bin/sh
# Publishes the Native AOT binary to artifacts/eventd with eventd.dbg beside it (symbols for perf).
# Any AOT or trim warning fails the publish.
set -eu
cd "$(dirname "$0")/.."
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
log=artifacts/publish.log
mkdir -p artifacts
if ! dotnet publish src/EventDaemon.Cli -c Release -r linux-x64 -o artifacts/publish \
    -p:SourceRevisionId="$commit" -nologo >"$log" 2>&1; then
  cat "$log"; echo "publish: failed" >&2; exit 1
fi
if grep -Eq "warning (IL|AOT)[0-9]+" "$log"; then
  grep -E "warning (IL|AOT)[0-9]+" "$log" | sort -u; echo "publish: AOT/trim warnings" >&2; exit 1
fi
cp artifacts/publish/eventd artifacts/eventd.new && mv -f artifacts/eventd.new artifacts/eventd
cp artifacts/publish/eventd.dbg artifacts/eventd.dbg.new && mv -f artifacts/eventd.dbg.new artifacts/eventd.dbg
echo "published artifacts/eventd ($(du -h artifacts/eventd | cut -f1)) and artifacts/eventd.dbg"
