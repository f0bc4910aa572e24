#!/bin/sh
# engine.sh - r1chat computes what llama.cpp computes, on generated models.
#
# For each row of golden/engine-ppl.txt the model is generated again with
# mkmodel (its checksum must match: the generator is deterministic), and
# `r1chat perplexity` must agree with llama.cpp's figure: within 0.2 % for
# F32/F16/BF16/Q8_0, 1 % for the others.  F32 models are also measured
# with other thread counts, batch sizes and an F32 cache; Q8_0, Q4_K_M and
# Q6_K one token at a time too (the kernels generation runs, which are not
# the prompt tiles), within their type's bound.  The greedy
# continuations of golden/engine-greedy.txt must come out identical with
# 1 and 2 threads and prompt batches of 1, 7 and 512.  Then the bad
# input: an unsupported architecture, a missing tensor, a prompt longer
# than the context; and --raw's prompt from stdin.
#
# By default the types the issue names run (and the i-quant mixtures);
# R1CHAT_ENGINE_FULL=1 runs every row.
set -u

: "${R1CHAT:?}" "${MKMODEL:?}" "${top_srcdir:?}" "${R1CHAT_TESTDATA:?}"
G=$top_srcdir/tests/golden
TEXT=$top_srcdir/tests/engine.txt
. "${top_srcdir:-.}/tests/tap.sh"

for v in deepseek-r1-qwen llama-bpe; do
	if [ ! -f "$R1CHAT_TESTDATA/vocab/$v.gguf" ]; then
		echo "Bail out! no $R1CHAT_TESTDATA/vocab/$v.gguf"
		exit 99
	fi
done

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
# Spinning OpenMP threads crawl on a loaded machine (make -j, CI).
OMP_WAIT_POLICY=passive
export OMP_WAIT_POLICY

# ppl MODEL ARGS...: prints r1chat's final estimate
ppl() {
	m=$1
	shift
	"$R1CHAT" perplexity "$m" -f "$TEXT" -c 128 "$@" 2>"$T/err" |
	    sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- [0-9.]*$/\1/p'
}

# within GOT WANT PERCENT: exit 0 when |got - want| <= percent of want
within() {
	awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN {
		if (g == "" || w <= 0) exit 1
		d = g - w; if (d < 0) d = -d
		exit !(d <= w * p / 100)
	}'
}

# --- perplexity against llama.cpp ---------------------------------------
grep -v '^#' "$G/engine-ppl.txt" | while read -r arch type seed ck size want scored; do
	case $type in
	F32|F16|BF16|Q8_0) tol=0.2 ;;
	Q4_0|Q4_K_M|Q6_K|Q2_K|UD-IQ*|IQ4_*) tol=1 ;;
	*)	[ -n "${R1CHAT_ENGINE_FULL:-}" ] || continue
		tol=1 ;;
	esac
	m=$T/$arch-$type.gguf
	"$MKMODEL" --arch "$arch" --type "$type" --seed "$seed" -o "$m"
	set -- $(cksum < "$m")
	[ "$1 $2" = "$ck $size" ]
	ok $? "$arch $type: mkmodel makes the same bytes (cksum $1 $2)"
	got=$(ppl "$m" -t 2)
	within "$got" "$want" "$tol"
	ok $? "$arch $type: perplexity $got, llama.cpp $want (within $tol %)"
	if [ "$type" = F32 ]; then
		got=$(ppl "$m" -t 1 -b 7)
		within "$got" "$want" 0.2
		ok $? "$arch $type -t 1 -b 7: perplexity $got"
		got=$(ppl "$m" -t 2 -b 1)
		within "$got" "$want" 0.2
		ok $? "$arch $type -t 2 -b 1: perplexity $got"
		got=$(ppl "$m" -t 2 -b 512 --kv-type f32)
		within "$got" "$want" 0.2
		ok $? "$arch $type --kv-type f32: perplexity $got"
	fi
	case $type in
	Q8_0|Q4_K_M|Q6_K)
		# one token at a time: generation's kernels, not the tiles
		got=$(ppl "$m" -t 2 -b 1)
		within "$got" "$want" "$tol"
		ok $? "$arch $type -t 2 -b 1: perplexity $got (within $tol %)" ;;
	esac
	rm -f "$m"
	echo "$n $failed" > "$T/count"
done
read n failed < "$T/count"

# --- greedy continuations, token for token -------------------------------
prompt=$(sed -n 's/^# PROMPT=//p' "$G/engine-greedy.txt")
grep -v '^#' "$G/engine-greedy.txt" | while read -r arch type seed ids; do
	m=$T/$arch-$type.gguf
	"$MKMODEL" --arch "$arch" --type "$type" --seed "$seed" -o "$m"
	want=$(echo $ids)
	for b in 1 7 512; do
		for t in 1 2; do
			got=$("$R1CHAT" --raw "$m" "$prompt" -n 32 --temp 0 \
			    -t $t -b $b --ids 2>"$T/err")
			[ "$(echo $got)" = "$want" ]
			ok $? "$arch $type greedy -t $t -b $b: same 32 tokens"
		done
	done
	got=$("$R1CHAT" --raw "$m" "$prompt" -n 32 --temp 0 --kv-type f32 \
	    --ids 2>"$T/err")
	[ "$(echo $got)" = "$want" ]
	ok $? "$arch $type greedy --kv-type f32: same 32 tokens"
	echo "$n $failed" > "$T/count"
	rm -f "$m"
done
read n failed < "$T/count"

# --- bad input --------------------------------------------------------------
# one_line FILE PATTERN: exit 0 when FILE is one line matching PATTERN
one_line() {
	[ "$(wc -l < "$1")" -eq 1 ] && grep -q "$2" "$1"
}

"$MKMODEL" --arch qwen2 --seed 1 --arch-name gemma9 -o "$T/bad.gguf"
"$R1CHAT" --raw "$T/bad.gguf" hello >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && one_line "$T/err" \
    'architecture gemma9 not supported (supported: qwen2, llama, qwen3, deepseek2)'
ok $? "unsupported architecture: one line naming it and the supported ones"
cat "$T/err" | sed 's/^/# /'

"$MKMODEL" --arch llama --seed 1 --drop blk.1.ffn_up.weight -o "$T/bad.gguf"
"$R1CHAT" perplexity "$T/bad.gguf" -f "$TEXT" >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && one_line "$T/err" 'tensor blk.1.ffn_up.weight: missing'
ok $? "missing tensor: one line naming it"
cat "$T/err" | sed 's/^/# /'

"$MKMODEL" --arch qwen3 --seed 1 -o "$T/m.gguf"
"$R1CHAT" --raw "$T/m.gguf" "$(cat "$TEXT")" -c 64 >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && one_line "$T/err" 'longer than the context (64)'
ok $? "prompt longer than the context: a clear error"
cat "$T/err" | sed 's/^/# /'

"$R1CHAT" perplexity "$T/m.gguf" -f "$TEXT" -c 1024 >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && one_line "$T/err" 'need at least 2048'
ok $? "perplexity on too short a text: a clear error"

# Generation stops at a full context instead of failing: the prompt's
# n_p positions, then 64 - n_p generated tokens decoded, and one more
# sampled from the last position's logits.
n_p=$("$R1CHAT" tokenize "$T/m.gguf" "one two three" --ids | tr -cd ',' |
    wc -c)
n_p=$((n_p + 1))
got=$("$R1CHAT" --raw "$T/m.gguf" "one two three" -c 64 -n 100 --temp 0 \
    --ids 2>"$T/err")
rc=$?
[ $rc -eq 0 ] && [ "$(echo $got | wc -w)" -eq $((64 - n_p + 1)) ]
ok $? "generation stops when the context is full ($n_p prompt tokens)"

# --raw --verbose: ollama's summary on stderr, counting this run's prompt
# and the tokens it printed.
got=$("$R1CHAT" --raw "$T/m.gguf" "one two three" -n 5 --temp 0 --ids \
    --verbose 2>"$T/err")
rc=$?
[ $rc -eq 0 ] && [ -n "$got" ] &&
    grep -qx "prompt eval count:    $n_p token(s)" "$T/err" &&
    grep -qx "eval count:           $(echo $got | wc -w) token(s)" "$T/err" &&
    grep -q '^load duration:        [0-9]' "$T/err" &&
    grep -q '^eval rate:            [0-9.]* tokens/s$' "$T/err"
ok $? "--raw --verbose: the summary counts the prompt and what was printed"
sed 's/^/# /' "$T/err"

# --raw without a prompt reads it from stdin, less the newline echo ends
# it with; from a terminal, a line says so first (the one-shot chat's).
want=$("$R1CHAT" --raw "$T/m.gguf" "one two three" -n 5 --temp 0 --ids)
got=$(echo "one two three" | "$R1CHAT" --raw "$T/m.gguf" -n 5 --temp 0 \
    --ids 2>"$T/err")
[ $? -eq 0 ] && [ -n "$want" ] && [ "$got" = "$want" ]
ok $? "--raw without a prompt: the prompt from stdin ($got)"
got=$(on_tty "one two three" "$R1CHAT" --raw "$T/m.gguf" -n 5 --temp 0 --ids)
if [ $? -eq 77 ]; then
	n=$((n + 1))
	echo "ok $n - --raw, stdin a terminal # SKIP no util-linux script(1)"
else
	printf '%s\n' "$got" | grep -qx 'r1chat: reading the prompt from the terminal: end it with Ctrl-D, or give it as arguments' &&
	    printf '%s\n' "$got" | grep -qx "$want"
	ok $? "--raw, stdin a terminal: a line says how to end it, then the ids"
	printf '%s\n' "$got" | sed 's/^/# /'
fi
"$R1CHAT" --raw "$T/m.gguf" </dev/null >"$T/out" 2>"$T/err"
[ $? -eq 2 ] && one_line "$T/err" '^r1chat: --raw: no prompt given' &&
    [ ! -s "$T/out" ]
ok $? "--raw, no prompt and stdin empty: a usage error"

echo "1..$n"
[ "$failed" -eq 0 ]
