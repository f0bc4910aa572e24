#!/bin/sh
# deepseek2-mkgolden.sh - regenerates deepseek2-ppl.txt and
# deepseek2-greedy.txt with the reference (llama.cpp through
# ../shared/oracle's llref).  Not run by make check: run by hand from a
# build directory after a change to tests/mkmodel.c, and commit the result.
#
#   sh tests/golden/deepseek2-mkgolden.sh BUILDDIR [LLREF]
set -eu
B=${1:?usage: deepseek2-mkgolden.sh BUILDDIR [LLREF]}
LLREF=${2:-/tmp/ref/llref}
G=$(cd "$(dirname "$0")" && pwd)
TEXT=$G/../engine.txt
: "${R1CHAT_TESTDATA:=$G/../data}"
export R1CHAT_TESTDATA
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# mkmodel --arch and options, as one word with commas for spaces, then
# :SEED.  A random MoE is chaotic once quantized: a router near-tie that
# rounding tips the other way changes a token's experts, and two sound
# implementations land up to ~1 % apart.  ds2-v3 measured 0.51 % (Q8_0)
# and 0.89 % (Q4_K_M) from llama.cpp with seed 1, 0.10 % and 0.36 % with
# seed 2, 0.41 % and 0.09 % with seed 3 (F32: 0.003 %): seed 2 it is.
MODELS="ds2-lite:1 ds2-v3:2 ds2-v3,--mla-stacked:2"
TYPES="F32 Q8_0 Q4_K_M"
# The i-quant mixtures people run V3/R1 in (Unsloth's UD-*), one model
# each, MODEL:SEED:TYPE.  The 1-3-bit types make the routers' near-ties
# many: over the 14 (model, mixture) pairs of ds2-lite:1 and ds2-v3:2,
# r1chat (AVX-512) and llama.cpp were 0.01-1.15 % apart, and r1chat's
# own scalar, AVX2 and AVX-512 paths up to 1 % apart from one another
# (float rounding in one tensor's tiles alone moved one model 1.3 %).
# Kept: a pair per i-quant family where all three paths were within
# 0.7 % of llama.cpp.
UD_ROWS="ds2-v3:2:UD-IQ1_M ds2-v3:2:UD-IQ2_XXS ds2-lite:1:UD-IQ1_S
ds2-lite:1:UD-IQ2_S ds2-v3:2:UD-IQ3_XXS ds2-lite:1:UD-IQ3_S"
PROMPT="The lighthouse keeper on the northern island kept two notebooks. In the first she wrote the weather every four hours:"

# row ARCH[,OPTION] TYPE SEED: the model's golden line
row() {
	"$B/tests/mkmodel" --arch $(echo "$1" | tr , ' ') --type "$2" \
	    --seed "$3" -o "$T/m.gguf"
	set -- "$1" "$2" "$3" $(cksum < "$T/m.gguf")
	out=$("$LLREF" ppl "$T/m.gguf" "$TEXT" -c 128 -t 1)
	ppl=$(echo "$out" | sed 's/.*"ppl":\([0-9.]*\).*/\1/')
	n=$(echo "$out" | sed 's/.*"tokens_scored":\([0-9]*\).*/\1/')
	echo "$1 $2 $3 $4 $5 $ppl $n"
}

{
	echo "# made by tests/golden/deepseek2-mkgolden.sh, per row: mkmodel --arch ARCH [OPTION] --type TYPE --seed SEED -o M.gguf; cksum M.gguf; llref ppl M.gguf tests/engine.txt -c 128 -t 1"
	echo "# model type seed cksum size ppl tokens_scored"
	for as in $MODELS; do
		a=${as%:*} s=${as#*:}
		for t in $TYPES; do
			case $a,$t in *stacked*,Q*) continue ;; esac
			row "$a" "$t" "$s"
		done
	done
	for r in $UD_ROWS; do
		a=${r%%:*} r=${r#*:}
		row "$a" "${r#*:}" "${r%%:*}"
	done
} > "$G/deepseek2-ppl.txt"

{
	echo "# made by tests/golden/deepseek2-mkgolden.sh, per row: mkmodel --arch ARCH [OPTION] --type F32 --seed SEED -o M.gguf; llref greedy M.gguf \"\$PROMPT\" -n 32 -t 1 (the generated ids)"
	echo "# PROMPT=$PROMPT"
	echo "# model type seed ids..."
	for as in $MODELS; do
		a=${as%:*} s=${as#*:}
		"$B/tests/mkmodel" --arch $(echo $a | tr , ' ') --type F32 \
		    --seed $s -o "$T/m.gguf"
		ids=$("$LLREF" greedy "$T/m.gguf" "$PROMPT" -n 32 -t 1 |
		    sed -n 's/.*"token":\([0-9]*\).*/\1/p' | tr '\n' ' ')
		echo "$a F32 $s $ids"
	done
} > "$G/deepseek2-greedy.txt"
