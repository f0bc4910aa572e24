#!/bin/sh
# spec.sh - speculative decoding (--lookup, --draft) changes nothing but the
# speed.  tests/test-spec does the counting: the acceptance rule alone;
# greedy tokens with and without guessing, token for token, on every
# kernel path, for the trained demo model over the held-out problems (the
# lookup, and the model as its own draft) and for generated models with a
# smaller draft of the same vocabulary (qwen2, deepseek2); the sampled
# tokens' distribution over many seeds on a tiny vocabulary (chi-square).
# Then r1chat itself: one-shot and serve answers the same with the options,
# --verbose's counts, bench's rows, a draft of another vocabulary refused.
# SPEC_PROMPTS (default 200) and SPEC_TOKENS (default 48) size the greedy
# part.  (A wrong rule fails the sampled part: the residual taken as p
# gave p-values of 1e-23 and below over 20000 seeds.)

: "${R1CHAT:?R1CHAT must name the r1chat binary}"
: "${MKMODEL:?MKMODEL must name tests/mkmodel}"
top=${top_srcdir:-.}
data=${R1CHAT_TESTDATA:-$top/tests/data}
demo="$top/share/r1chat-demo.gguf"
problems="$data/demo/heldout.txt"
vocab="$data/vocab/deepseek-r1-qwen.gguf"
other_vocab="$data/vocab/llama-bpe.gguf"
test_spec=$(dirname "$MKMODEL")/test-spec
HTTPC=$(dirname "$MKMODEL")/httpc
[ -x "$HTTPC" ] || HTTPC=
for f in "$demo" "$problems" "$vocab" "$other_vocab" "$test_spec"; do
	if [ ! -f "$f" ]; then
		echo "Bail out! missing $f"
		exit 99
	fi
done
n_prompts=${SPEC_PROMPTS:-200}
n_tokens=${SPEC_TOKENS:-48}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-spec.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
LC_ALL=C.UTF-8
export LC_ALL
unset OPENAI_API_KEY R1CHAT_ISA

. "$top/tests/tap.sh"

mk() {
	out=$1
	shift
	"$MKMODEL" "$@" -o "$tmp/$out" >"$tmp/mk.err" 2>&1 ||
	    { cat "$tmp/mk.err"; echo "Bail out! mkmodel $*"; exit 99; }
}

# tests/test-spec's TAP, renumbered into this script's
sub() {
	"$test_spec" "$@" >"$tmp/sub.out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*)
			text=${line#*ok [0-9]* - }
			case $line in
			"ok "*) ok 0 "$text" ;;
			*) ok 1 "$text" ;;
			esac ;;
		"#"*) echo "$line" ;;
		"Bail out!"*) echo "$line"; exit 99 ;;
		esac
	done <"$tmp/sub.out"
	[ $rc -le 1 ] || { echo "Bail out! test-spec $1 exited $rc"; exit 99; }
}

# --- the rule; greedy, token for token ----------------------------------------------

sub rule
grep -v '^#' "$problems" | head -n "$n_prompts" >"$tmp/prompts"
head -n 20 "$tmp/prompts" >"$tmp/prompts20"
# the lookup over them all on the default path; everything on 20 of them
# on every path
sub greedy -1 -l "$demo" "$tmp/prompts" "$n_tokens"
sub greedy "$demo" "$tmp/prompts20" "$n_tokens"

# generated models: a smaller draft of the same vocabulary, 2 architectures
mk q.gguf --arch qwen2 --type Q8_0 --seed 1 --vocab "$vocab" --n-vocab 2000
mk qd.gguf --arch qwen2 --type Q8_0 --seed 2 --vocab "$vocab" --n-vocab 2000 \
    --layers 1 --embd 64 --ff 128 --heads 2 --kv-heads 1
sub greedy "$tmp/q.gguf" "$tmp/prompts20" "$n_tokens" "$tmp/qd.gguf"
# deepseek2: MLA (stacked attn_kv_b, and split with q_lora), 3 experts of
# 8 used and the shared one: a token's experts summed alone as in a batch
for a in ds2-lite ds2-v3; do
	mk d.gguf --arch $a --type Q8_0 --seed 1 --vocab "$vocab" \
	    --n-vocab 2000 --experts 8 --experts-used 3
	mk dd.gguf --arch $a --type Q8_0 --seed 2 --vocab "$vocab" \
	    --n-vocab 2000 --experts 8 --experts-used 3 --layers 2
	sub greedy "$tmp/d.gguf" "$tmp/prompts20" "$n_tokens" "$tmp/dd.gguf"
done

# --- sampled: the model's distribution ------------------------------------------------

# the draft: the model's first layer alone (mkmodel draws each tensor from
# the seed and its name), close to the model but not it
small="--vocab $vocab --n-vocab 256 --embd 64 --ff 128 --heads 2 --kv-heads 1"
# shellcheck disable=SC2086
mk t.gguf --arch qwen2 --type F32 --seed 1 --layers 2 $small
# shellcheck disable=SC2086
mk td.gguf --arch qwen2 --type F32 --seed 1 --layers 1 $small
sub dist "$tmp/t.gguf" "$tmp/td.gguf" 10000

# --- r1chat: one-shot and serve -------------------------------------------------------

q="What is 17 * 23?"
# the reasoning on stderr, before --verbose's lines
reasoning() {
	sed '/^total duration:/,$d' "$1"
}
"$R1CHAT" --demo --temp 0 -t 2 --verbose "$q" >"$tmp/base.out" \
    2>"$tmp/base.err"
ok $? "one-shot without guessing exits 0"
reasoning "$tmp/base.err" >"$tmp/base.r"
for opts in "--lookup" "--draft $demo" "--lookup --draft $demo --draft-max 3"; do
	# shellcheck disable=SC2086
	"$R1CHAT" --demo --temp 0 -t 2 --verbose $opts "$q" >"$tmp/o.out" \
	    2>"$tmp/o.err"
	ok $? "one-shot $opts exits 0"
	cmp -s "$tmp/base.out" "$tmp/o.out"
	ok $? "one-shot $opts: the same answer"
	reasoning "$tmp/o.err" | cmp -s - "$tmp/base.r"
	ok $? "one-shot $opts: the same reasoning"
	grep -q '^draft acceptance: *[0-9]*\.[0-9][0-9]%$' "$tmp/o.err" &&
	    grep -q '^draft count: *[0-9]* token(s)$' "$tmp/o.err" &&
	    grep -q '^draft accepted: *[0-9]* token(s)$' "$tmp/o.err"
	ok $? "one-shot $opts --verbose: the guesses' counts"
done
! grep -q '^draft' "$tmp/base.err"
ok $? "--verbose without guessing: no draft lines"

# a draft of another vocabulary: one line, exit 2
mk other.gguf --arch qwen2 --type Q8_0 --seed 1 --vocab "$other_vocab" \
    --n-vocab 300
"$R1CHAT" --temp 0 --draft "$tmp/other.gguf" "$tmp/q.gguf" hi \
    >"$tmp/o.out" 2>"$tmp/o.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/o.err")" -eq 1 ] &&
    grep -q "^r1chat: $tmp/other.gguf: the draft's vocabulary differs from the model's" \
    "$tmp/o.err"
ok $? "a draft of another vocabulary: one line, exit 2 (got $rc: $(cat "$tmp/o.err"))"
"$R1CHAT" bench --draft "$tmp/other.gguf" "$tmp/q.gguf" -p 4 -n 4 -r 1 \
    >/dev/null 2>"$tmp/o.err"
ok $(( $? != 2 )) "bench: a draft of another vocabulary: exit 2"

# bench: the verify and spec rows
"$R1CHAT" bench --lookup --draft "$tmp/qd.gguf" "$tmp/q.gguf" -p 8 -n 8 -r 1 \
    >"$tmp/b.out" 2>"$tmp/b.err"
ok $? "bench --lookup --draft exits 0"
grep -q '| *verify8 k9 |' "$tmp/b.out" && grep -q '| *spec8 a[0-9]*% |' \
    "$tmp/b.out"
ok $? "bench: the verify and spec rows"

# serve: the same answer
if [ -n "$HTTPC" ]; then
	"$R1CHAT" serve --lookup --draft "$demo" --port 0 -t 2 --temp 0 \
	    "$demo" 2>"$tmp/serve.err" &
	pid=$!
	port=$(serve_port "$tmp/serve.err")
	printf '{"messages":[{"role":"user","content":"%s"}]}' "$q" \
	    >"$tmp/body.json"
	"$HTTPC" -d "$tmp/body.json" \
	    "http://127.0.0.1:$port/v1/chat/completions" >"$tmp/serve.json"
	grep -q "\"content\": *\"$(tail -n 1 "$tmp/base.out" |
	    sed 's/[*]/./g')\"" "$tmp/serve.json"
	ok $? "serve --lookup --draft: the same answer"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
