#!/bin/sh
# fuzz.sh - the libFuzzer targets (tests/fuzz-*.c) built and each run a
# few seconds (FUZZ_CHECK_SECONDS, default 3) on its seeds in tests/fuzz/,
# which hold the inputs of past findings too: no crash, leak or broken
# invariant.  Skipped (one line saying why) without clang and libFuzzer;
# `make fuzz` runs them long.

: "${top_srcdir:?top_srcdir must name the source tree}"
: "${top_builddir:=$(pwd)}"
cc=${FUZZ_CC:-clang}
seconds=${FUZZ_CHECK_SECONDS:-3}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ return 0; }\n' \
    >"$tmp/probe.c"
if ! command -v "$cc" >/dev/null 2>&1 ||
    ! "$cc" -fsanitize=fuzzer,address,undefined "$tmp/probe.c" \
    -o "$tmp/probe" >/dev/null 2>&1; then
	echo "1..0 # SKIP no $cc with libFuzzer (-fsanitize=fuzzer)"
	exit 0
fi

. "$top_srcdir/tests/tap.sh"

bin=$top_builddir/tests/fuzz-bin
top_builddir=$top_builddir top_srcdir=$top_srcdir \
    sh "$top_srcdir/tests/fuzz-build.sh" "$bin" >"$tmp/build" 2>&1
ok $? "the fuzz targets build"
show "$tmp/build"
for t in tok template think sse request load; do
	mkdir -p "$tmp/$t"
	"$bin/fuzz-$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$tmp/$t/" \
	    "$tmp/$t" "$top_srcdir/tests/fuzz/$t" >"$tmp/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/$t.log")
	[ $rc -eq 0 ] && [ -z "$(ls "$tmp/$t" | grep -v '^[0-9a-f]\{40\}$')" ]
	ok $? "fuzz-$t: ${runs:-no} runs, no finding"
	[ $rc -eq 0 ] || tail -n 30 "$tmp/$t.log" | show
done
echo "1..$n"
[ "$failed" -eq 0 ]
