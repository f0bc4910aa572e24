#!/bin/sh
# run-fuzz.sh - `make fuzz [FUZZ_SECONDS=600] [FUZZ_TARGETS='tok sse']`:
# builds the libFuzzer targets (fuzz-build.sh) and runs each in turn for
# FUZZ_SECONDS on one core, seeded with tests/fuzz/NAME (gguf: mkbad's
# malformed files), its corpus growing in tests/fuzz-corpus/NAME; the
# findings land in tests/fuzz-out/NAME/ (crash-*, leak-*, timeout-*,
# oom-*).  Ends with a line per target: runs, seconds, findings.  Exit 1
# when a target found something.

: "${top_srcdir:?top_srcdir must name the source tree}"
: "${top_builddir:?top_builddir must name the build tree}"
: "${MKBAD:?MKBAD must name tests/mkbad}"
seconds=${FUZZ_SECONDS:-600}
targets=${FUZZ_TARGETS:-gguf tok template think sse request load}
dir=$top_builddir/tests

sh "$top_srcdir/tests/fuzz-build.sh" "$dir/fuzz-bin" || exit 1
rm -rf "$dir/fuzz-seed"
mkdir -p "$dir/fuzz-seed"
"$MKBAD" corpus "$dir/fuzz-seed/gguf" && \
    "$MKBAD" good "$dir/fuzz-seed/gguf/good.gguf" || exit 1

summary=
found=0
for t in $targets; do
	seeds=$top_srcdir/tests/fuzz/$t
	[ "$t" = gguf ] && seeds=$dir/fuzz-seed/gguf
	mkdir -p "$dir/fuzz-corpus/$t" "$dir/fuzz-out/$t"
	"$dir/fuzz-bin/fuzz-$t" -max_total_time="$seconds" -max_len=8192 \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$dir/fuzz-out/$t/" \
	    "$dir/fuzz-corpus/$t" "$seeds" 2>"$dir/fuzz-out/$t.log"
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$dir/fuzz-out/$t.log")
	took=$(sed -n 's/^stat::.*total_time.*: *//p; s/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' \
	    "$dir/fuzz-out/$t.log" | tail -n 1)
	n=$(ls "$dir/fuzz-out/$t" | wc -l)
	[ $rc -ne 0 ] || [ "$n" -ne 0 ] && found=1
	summary="$summary
fuzz-$t: ${runs:-?} runs in ${took:-?} s, $n findings (exit $rc)"
done
echo "$summary" | sed 1d
[ $found -eq 0 ]
