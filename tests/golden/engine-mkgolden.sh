#!/bin/sh
# engine-mkgolden.sh - regenerates engine-ppl.txt and engine-greedy.txt
# with the reference (llama.cpp through ../shared/oracle's llref).  Not
# run by make check: run by hand from a build directory after a change
# to tests/mkmodel.c or tests/engine.txt, and commit the result.
#
#   sh /work/main/tests/golden/engine-mkgolden.sh BUILDDIR [LLREF]
set -eu
B=${1:?usage: engine-mkgolden.sh BUILDDIR [LLREF]}
LLREF=${2:-/tmp/ref/llref}
G=$(cd "$(dirname "$0")" && pwd)
TEXT=$G/../engine.txt
: "${R1CHAT_TESTDATA:=$G/../data}"
export R1CHAT_TESTDATA
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ARCHS="qwen2 llama qwen3"
TYPES="F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q3_K_M Q4_K_M Q5_K_M"
# the i-quants, mixed with Q2_K-Q6_K as Unsloth's files are: qwen2 only
IQ_TYPES="UD-IQ1_S UD-IQ1_M UD-IQ2_XXS UD-IQ2_XS UD-IQ2_S UD-IQ3_XXS UD-IQ3_S IQ4_NL IQ4_XS"
PROMPT="The lighthouse keeper on the northern island kept two notebooks. In the first she wrote the weather every four hours:"

{
	echo "# made by tests/golden/engine-mkgolden.sh, per row: mkmodel --arch ARCH --type TYPE --seed 1 -o M.gguf; cksum M.gguf; llref ppl M.gguf tests/engine.txt -c 128 -t 1"
	echo "# arch type seed cksum size ppl tokens_scored"
	for at in $(for a in $ARCHS; do for t in $TYPES; do echo $a:$t; done; done) \
	    $(for t in $IQ_TYPES; do echo qwen2:$t; done); do
		a=${at%%:*} t=${at#*:}
		"$B/tests/mkmodel" --arch $a --type $t --seed 1 -o "$T/m.gguf"
		set -- $(cksum < "$T/m.gguf")
		ck=$1 sz=$2
		out=$("$LLREF" ppl "$T/m.gguf" "$TEXT" -c 128 -t 1)
		ppl=$(echo "$out" | sed 's/.*"ppl":\([0-9.]*\).*/\1/')
		n=$(echo "$out" | sed 's/.*"tokens_scored":\([0-9]*\).*/\1/')
		echo "$a $t 1 $ck $sz $ppl $n"
	done
} > "$G/engine-ppl.txt"

{
	echo "# made by tests/golden/engine-mkgolden.sh, per row: mkmodel --arch ARCH --type F32 --seed 1 -o M.gguf; llref greedy M.gguf \"\$PROMPT\" -n 32 -t 1 (the generated ids)"
	echo "# PROMPT=$PROMPT"
	echo "# arch type seed ids..."
	for a in $ARCHS; do
		"$B/tests/mkmodel" --arch $a --type F32 --seed 1 -o "$T/m.gguf"
		ids=$("$LLREF" greedy "$T/m.gguf" "$PROMPT" -n 32 -t 1 |
		    sed -n 's/.*"token":\([0-9]*\).*/\1/p' | tr '\n' ' ')
		echo "$a F32 1 $ids"
	done
} > "$G/engine-greedy.txt"
