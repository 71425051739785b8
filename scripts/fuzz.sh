#!/bin/sh
# Fuzzes the decoders (JSON lines, line framing, binary frames, RFC 3339).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 60 s each; json lines binary rfc3339
#
# Engine: FUZZ_ENGINE=auto (default) uses AFL++ with SharpFuzz instrumentation (coverage-guided)
# when afl-fuzz is installed (Debian: apt-get install afl++) and the SharpFuzz.CommandLine dotnet
# tool can be found or installed; otherwise the built-in mutation fuzzer (no coverage feedback).
# FUZZ_ENGINE=afl or FUZZ_ENGINE=mutate forces one.
#
# First the seed corpus and every saved regression are replayed. Crashing inputs are copied to
# artifacts/fuzz/crashes/TARGET/; after fixing, move them to
# tests/EventDaemon.Events.Fuzz/regressions/TARGET/ so the unit tests replay them forever.
# Exit status: 0 when nothing crashed.
set -eu
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-json lines binary rfc3339}
engine=${FUZZ_ENGINE:-auto}
out=artifacts/fuzz
fuzz=tests/EventDaemon.Events.Fuzz

mkdir -p "$out"
dotnet build "$fuzz" -c Release -o "$out/bin" -nologo >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
driver="dotnet $out/bin/EventDaemon.Events.Fuzz.dll"

for t in $targets; do
    $driver replay "$t" "$fuzz/seeds/$t" "$fuzz/regressions/$t"
done

find_sharpfuzz() {
    if command -v sharpfuzz >/dev/null 2>&1; then command -v sharpfuzz; return 0; fi
    for candidate in "$out/tools/sharpfuzz" "$HOME/.dotnet/tools/sharpfuzz"; do
        if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
    done
    dotnet tool install --tool-path "$out/tools" SharpFuzz.CommandLine >/dev/null 2>&1 && echo "$out/tools/sharpfuzz"
}

if [ "$engine" = auto ]; then
    engine=mutate
    if command -v afl-fuzz >/dev/null 2>&1 && sharpfuzz=$(find_sharpfuzz); then engine=afl; fi
elif [ "$engine" = afl ]; then
    command -v afl-fuzz >/dev/null 2>&1 || { echo "fuzz: afl-fuzz not found (apt-get install afl++)" >&2; exit 1; }
    sharpfuzz=$(find_sharpfuzz) || { echo "fuzz: SharpFuzz.CommandLine tool not available" >&2; exit 1; }
fi

status=0
if [ "$engine" = afl ]; then
    echo "fuzz: AFL++ with SharpFuzz instrumentation, ${seconds}s per target"
    # Instrument a fresh copy: sharpfuzz rewrites the assembly in place and refuses to do it twice.
    rm -rf "$out/afl-bin" && cp -r "$out/bin" "$out/afl-bin"
    "$sharpfuzz" "$out/afl-bin/EventDaemon.Events.dll" >/dev/null
    for t in $targets; do
        rm -rf "$out/afl/$t"
        mkdir -p "$out/afl"
        # Seeds minus placeholders; AFL refuses empty files.
        rm -rf "$out/seeds/$t" && mkdir -p "$out/seeds/$t"
        find "$fuzz/seeds/$t" -type f -size +0 -exec cp {} "$out/seeds/$t/" \;
        AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
            afl-fuzz -i "$out/seeds/$t" -o "$out/afl/$t" -t 10000 -m none -V "$seconds" \
            -- dotnet "$out/afl-bin/EventDaemon.Events.Fuzz.dll" afl "$t" >"$out/afl/$t.log" 2>&1 || true
        stats="$out/afl/$t/default/fuzzer_stats"
        if [ -f "$stats" ]; then
            echo "$t: $(grep -E '^(execs_done|corpus_count|saved_crashes|saved_hangs)' "$stats" | tr -s ' ' | tr '\n' ' ')"
        else
            echo "$t: afl-fuzz did not start; see $out/afl/$t.log" >&2
            status=1
        fi
        crashes=$(find "$out/afl/$t/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
        if [ "$crashes" -gt 0 ]; then
            mkdir -p "$out/crashes/$t"
            find "$out/afl/$t/default/crashes" -type f -name 'id:*' -exec cp {} "$out/crashes/$t/" \;
            echo "$t: $crashes crashing inputs in $out/crashes/$t" >&2
            status=1
        fi
    done
else
    echo "fuzz: built-in mutation fuzzer (no coverage feedback), ${seconds}s per target"
    for t in $targets; do
        $driver mutate "$t" "$seconds" "$fuzz/seeds/$t" "$out/crashes/$t" || status=1
    done
fi
exit $status
