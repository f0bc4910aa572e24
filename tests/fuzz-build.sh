#!/bin/sh
# fuzz-build.sh OUTDIR - builds the libFuzzer targets (clang: ASan, UBSan,
# libFuzzer) into OUTDIR: fuzz-gguf, fuzz-tok, fuzz-template, fuzz-think,
# fuzz-sse, fuzz-request, fuzz-load.  The code the targets reach is built
# with the sanitizers and libFuzzer's coverage; the engine under the chat
# (model, ops, kernels), which fuzz-load needs only to open the demo
# model, is built plain, at -O1.  An object newer than its source is
# kept, so a second build is quick.  Needs top_srcdir and top_builddir
# (config.h); FUZZ_CC (default clang).  Exit 0, or 1 with the compiler's
# words.

: "${top_srcdir:?top_srcdir must name the source tree}"
: "${top_builddir:?top_builddir must name the build tree}"
out=${1:?usage: fuzz-build.sh OUTDIR}
cc=${FUZZ_CC:-clang}
src=$top_srcdir/src
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
common="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fopenmp \
    -I$top_builddir -I$src -I$top_srcdir/tests \
    -DFUZZ_DATA=\"$top_srcdir/tests/data\" \
    -DFUZZ_DEMO=\"$top_srcdir/share/r1chat-demo.gguf\""
pcre=$(pkg-config --cflags libpcre2-8 2>/dev/null)
mkdir -p "$out/obj" || exit 1

# The parsers and what they call: instrumented.
fuzzed="util gguf types tok tok-pre tok-bpe template think sse openai params
    sampler chat spec options duration"
# The engine: plain.
engine="model arch kv arch-deepseek2 moe residency ops ops-x86 quant
    quant-ref quant-amx quant-panel quant-avx2 quant-avx512 quant-iq
    quant-iq-tables quant-iq-avx2 quant-iq-avx512 quant-calib quant-wisdom"

# obj FILE.c OBJ FLAGS...: compiles FILE.c into OBJ unless OBJ is newer.
obj() {
	c=$1
	o=$2
	shift 2
	[ -f "$o" ] && [ "$o" -nt "$c" ] && return 0
	# shellcheck disable=SC2086
	$cc $common $pcre "$@" -c "$c" -o "$o"
}

for f in $fuzzed; do
	obj "$src/$f.c" "$out/obj/$f.o" $san -fsanitize=fuzzer-no-link || exit 1
done
for f in $engine; do
	obj "$src/$f.c" "$out/obj/$f.o" || exit 1
done

# target NAME MODULES...: tests/fuzz-NAME.c linked with the modules.
target() {
	name=$1
	shift
	objs=
	for m; do
		objs="$objs $out/obj/$m.o"
	done
	# shellcheck disable=SC2086
	$cc $common $san -fsanitize=fuzzer "$top_srcdir/tests/fuzz-$name.c" \
	    $objs -lpcre2-8 -ljansson -lm -o "$out/fuzz-$name" || exit 1
}
target gguf gguf types util
target tok tok tok-pre tok-bpe gguf types util
target template template util
target think think util
target sse sse util
target request $fuzzed $engine
target load $fuzzed $engine
