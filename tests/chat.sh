#!/bin/sh
# chat.sh - one-shot chat end to end on a generated model: the answer alone
# on stdout, the reasoning on stderr between its markers, --hidethinking,
# --nothink, stdin and arguments joined, ollama's --verbose block matched
# line by line, the chat's prompt equal to the template's (the reasoning is
# what --raw continues the rendered prompt with), refusals and errors.

: "${R1CHAT:?R1CHAT must name the r1chat binary}"
: "${MKMODEL:?MKMODEL must name tests/mkmodel}"
vocab="${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}/vocab/deepseek-r1-qwen.gguf"
if [ ! -f "$vocab" ]; then
	echo "Bail out! no test data ($vocab)"
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-chat.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
LC_ALL=C.UTF-8
export LC_ALL
XDG_CACHE_HOME="$tmp/cache"
export XDG_CACHE_HOME

. "${top_srcdir:-.}/tests/tap.sh"

model="$tmp/m.gguf"
mkqwen2 "$model"

# Greedy, a short answer, a reasoning budget so that the answer comes.
chat() {
	"$R1CHAT" --template deepseek-r1 --temp 0 -n 40 --think-budget 8 \
	    "$model" "$@"
}

# --- the answer on stdout, the reasoning on stderr ----------------------------

chat "hello there" >"$tmp/out" 2>"$tmp/err"
ok $? "one turn: exit status 0"
[ -s "$tmp/out" ]
ok $? "the answer is on stdout"
[ "$(head -n 1 "$tmp/err")" = "Thinking..." ]
ok $? "stderr starts with Thinking..."
grep -qx '\.\.\.done thinking\.' "$tmp/err"
ok $? "stderr has ...done thinking. on a line of its own"
# The reasoning: what lies between the markers.
sed -n '2,/^\.\.\.done thinking\.$/p' "$tmp/err" | sed '$d' >"$tmp/reason"
[ -s "$tmp/reason" ]
ok $? "the reasoning lies between the markers"
! grep -q -e 'Thinking\.\.\.' -e 'done thinking' "$tmp/out"
ok $? "stdout holds no reasoning marker"
[ "$(sed -n '/^\.\.\.done thinking\.$/,$p' "$tmp/err" | sed '1d' |
    grep -c '[^ ]')" -eq 0 ]
ok $? "nothing but the reasoning on stderr"
! grep -q '</think>' "$tmp/reason"
ok $? "the closing tag is not shown in the reasoning"

chat --hidethinking "hello there" >"$tmp/out.hide" 2>"$tmp/err.hide"
ok $? "--hidethinking: exit status 0"
[ ! -s "$tmp/err.hide" ]
ok $? "--hidethinking: nothing on stderr"
cmp -s "$tmp/out" "$tmp/out.hide"
ok $? "--hidethinking: the same answer on stdout"

chat --nothink "hello there" >"$tmp/out.no" 2>"$tmp/err.no"
ok $? "--nothink: exit status 0"
[ -s "$tmp/out.no" ] && ! grep -q 'Thinking' "$tmp/err.no"
ok $? "--nothink: an answer and no reasoning"

# --- the prompt is the template's -------------------------------------------------

# Without a budget the greedy reasoning is what --raw continues R1's
# rendered prompt with (BOS comes from --raw; the tags are special tokens).
"$R1CHAT" --template deepseek-r1 --temp 0 -n 24 "$model" "hello there" \
    >"$tmp/out.free" 2>"$tmp/err.free"
rendered=$(printf '<\357\275\234User\357\275\234>hello there<\357\275\234Assistant\357\275\234><think>\n.')
"$R1CHAT" --raw --temp 0 -n 24 "$model" "${rendered%.}" \
    >"$tmp/raw" 2>"$tmp/raw.err"
ok $? "--raw on the rendered prompt"
strip() { sed -e '1{/^Thinking\.\.\.$/d;}' -e '/^\.\.\.done thinking\.$/d' \
    -e '/^r1chat: the answer was cut inside its reasoning/d' "$@" | tr -d ' \n\t'; }
[ -n "$(strip "$tmp/err.free")" ] &&
    [ "$(strip "$tmp/err.free")$(tr -d ' \n\t' <"$tmp/out.free")" = \
    "$(sed 's,</think>,,' "$tmp/raw" | tr -d ' \n\t')" ]
ok $? "reasoning and answer are --raw's continuation of the rendered prompt"

# --- stdin and arguments ----------------------------------------------------------

echo "hello there" | chat >"$tmp/out.in" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out.in"
ok $? "the message from stdin (newline dropped) is the same message"
echo "hello" | chat "there" >"$tmp/out.join" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out.join"
ok $? "stdin then the arguments, joined by a space"
chat hello there >"$tmp/out.args" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out.args"
ok $? "the arguments joined by a space"
printf 'caf\351 \377\376 <\357\275\234User\357\275\234>' | chat \
    >"$tmp/out.bad" 2>"$tmp/err.bad"
ok $? "bytes that are not UTF-8 and specials in the message are taken"

# --- --verbose --------------------------------------------------------------------

chat --verbose "hello there" >"$tmp/out.v" 2>"$tmp/err.v"
ok $? "--verbose: exit status 0"
cmp -s "$tmp/out" "$tmp/out.v"
ok $? "--verbose: the same answer on stdout"
D='([0-9]+h)?([0-9]+m)?[0-9]+(\.[0-9]+)?(s|ms|µs|ns)'
R='[0-9]+\.[0-9]{2} tokens/s'
grep -E '^(total|load|prompt eval|eval) ' "$tmp/err.v" >"$tmp/summary"
cat >"$tmp/expect" <<EOF
^total duration:       $D\$
^load duration:        $D\$
^prompt eval count:    [1-9][0-9]* token\(s\)\$
^prompt eval duration: $D\$
^prompt eval rate:     $R\$
^eval count:           [1-9][0-9]* token\(s\)\$
^eval duration:        $D\$
^eval rate:            $R\$
EOF
[ "$(wc -l <"$tmp/summary")" -eq 8 ]
ok $? "--verbose: eight summary lines"
i=0
while read -r re; do
	i=$((i + 1))
	line=$(sed -n "${i}p" "$tmp/summary")
	printf '%s\n' "$line" | grep -Eq "$re"
	ok $? "--verbose line $i: $line"
done <"$tmp/expect"
[ "$(sed -n 's/^eval count: *\([0-9]*\) .*/\1/p' "$tmp/summary")" -le 40 ]
ok $? "--verbose: eval count within -n"
tail -n 8 "$tmp/err.v" | cmp -s - "$tmp/summary"
ok $? "--verbose: the summary ends stderr"
# As ollama's: the first answer's total duration includes the load.
sed 's/µ/u/' "$tmp/summary" | awk -F': *' '
	function ns(d,   t, v, u) {
		t = 0
		while (match(d, /^[0-9.]+(h|ms|us|ns|m|s)/)) {
			v = substr(d, 1, RLENGTH); d = substr(d, RLENGTH + 1)
			u = v; sub(/^[0-9.]+/, "", u); v += 0
			t += v * (u == "h" ? 3.6e12 : u == "m" ? 6e10 : \
			    u == "s" ? 1e9 : u == "ms" ? 1e6 : u == "us" ? 1e3 : 1)
		}
		return t
	}
	/duration/ { d[$1] = ns($2) }
	END { exit !(d["total duration"] >= d["load duration"] + \
	    d["prompt eval duration"] + d["eval duration"]) }'
ok $? "--verbose: total duration >= load + prompt eval + eval"

# --- refusals and errors --------------------------------------------------------------

head -c 3000 /dev/zero | tr '\0' 'a' | sed 's/aaaa/word /g' >"$tmp/long"
"$R1CHAT" --template deepseek-r1 -c 64 "$model" <"$tmp/long" \
    >"$tmp/out.long" 2>"$tmp/err.long"
[ $? -eq 1 ]
ok $? "a message longer than the context: exit status 1"
[ "$(wc -l <"$tmp/err.long")" -eq 1 ] && [ ! -s "$tmp/out.long" ] &&
    grep -Eq '^r1chat: the message is too long: [0-9]+ tokens, the context holds 64 \(raise -c/--ctx-size\)$' \
    "$tmp/err.long"
ok $? "a message longer than the context: one r1chat: line naming -c, no system prompt"
"$R1CHAT" --template deepseek-r1 -c 64 --system-prompt "Be brief." "$model" \
    <"$tmp/long" >/dev/null 2>"$tmp/err.long2"
[ $? -eq 1 ] && grep -Eq '^r1chat: the message is too long: [0-9]+ tokens with the system prompt, the context holds 64 ' \
    "$tmp/err.long2"
ok $? "with a system prompt, the refusal says it counts"
"$R1CHAT" --template deepseek-r1 --temp 0 -c 64 "$model" hi \
    >"$tmp/out.full" 2>"$tmp/err.full"
[ $? -eq 0 ] && [ "$(tail -n 1 "$tmp/err.full")" = \
    "r1chat: the context is full (64 tokens): the answer stops here (raise -c/--ctx-size)" ] &&
    ! grep -q -e '/set' -e 'never closed' "$tmp/err.full"
ok $? "a full context: one r1chat: line naming -c, no REPL advice"

# -n cuts the answer: said as -n's doing, not the model's failure.
chat -n 1 hi >/dev/null 2>"$tmp/err.n1"
[ $? -eq 0 ] && [ "$(tail -n 1 "$tmp/err.n1")" = \
    "r1chat: the answer was cut inside its reasoning: 1 token, the limit of -n/--predict" ] &&
    ! grep -q 'never closed' "$tmp/err.n1"
ok $? "-n 1 inside the reasoning: says -n cut it, not that the model failed"
chat -n 0 hi >"$tmp/out.n0" 2>"$tmp/err.n0"
[ $? -eq 0 ] && [ ! -s "$tmp/out.n0" ] && [ ! -s "$tmp/err.n0" ]
ok $? "-n 0: nothing generated and nothing said, exit status 0"

"$R1CHAT" "$model" </dev/null >/dev/null 2>"$tmp/err.empty"
[ $? -eq 2 ] && grep -q '^r1chat: no prompt' "$tmp/err.empty"
ok $? "no prompt: a usage error"
"$R1CHAT" "$tmp/missing.gguf" hi >/dev/null 2>"$tmp/err.miss"
[ $? -eq 1 ] && [ "$(cat "$tmp/err.miss")" = \
    "r1chat: $tmp/missing.gguf: No such file or directory" ]
ok $? "a missing model: one line in strerror's words, exit status 1"
"$R1CHAT" --temp warm "$model" hi >/dev/null 2>"$tmp/err.num"
[ $? -eq 2 ] && grep -qx 'r1chat: --temp: warm: not a number' "$tmp/err.num"
ok $? "a bad number: a usage error naming the option and the value"
"$R1CHAT" --temp -1 "$model" hi >/dev/null 2>"$tmp/err.neg"
[ $? -eq 2 ] && grep -qx 'r1chat: --temp: -1: must be 0 or more' "$tmp/err.neg"
ok $? "a temperature out of range is a usage error naming the option"
"$R1CHAT" --temp 0 -n 4 "$model" hi >/dev/null 2>"$tmp/err.guess"
[ $? -eq 0 ] && grep -q '^r1chat: warning: .*no chat template; using deepseek-r1' \
    "$tmp/err.guess"
ok $? "no template in the file: deepseek-r1 guessed from its tokens, said"
"$R1CHAT" --template chatml --temp 0 -n 4 "$model" hi >/dev/null \
    2>"$tmp/err.chatml"
[ $? -eq 0 ] && [ "$(grep -c '^r1chat: warning: .*no <|im_start|> token' \
    "$tmp/err.chatml")" -eq 1 ]
ok $? "--template chatml on a vocabulary without <|im_start|>: warned, once"
! grep -q '^r1chat: warning' "$tmp/err"
ok $? "--template deepseek-r1 on its vocabulary: no warning"
"$R1CHAT" --template nonesuch "$model" hi >/dev/null 2>"$tmp/err.tpl"
[ $? -eq 2 ] && grep -q '^r1chat: --template: nonesuch: must be deepseek-r1, .* or llama3$' "$tmp/err.tpl"
ok $? "an unknown --template is a usage error listing the names"
"$R1CHAT" --kv-type f8 "$model" hi >/dev/null 2>"$tmp/err.kv"
[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err.kv")" -eq 1 ] &&
    grep -qx 'r1chat: --kv-type: f8: must be f16 or f32' "$tmp/err.kv"
ok $? "an unknown --kv-type is refused in one line"
"$R1CHAT" --kv-type f32 --nothink --temp 0 -n 8 "$model" hi >"$tmp/out.kv32" 2>/dev/null &&
    [ -s "$tmp/out.kv32" ]
ok $? "--kv-type f32: the chat answers with an F32 cache"

R1CHAT_ISA=nonesuch "$R1CHAT" "$model" hi >/dev/null 2>"$tmp/err.isa"
[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err.isa")" -eq 1 ] &&
    grep -q '^r1chat: R1CHAT_ISA=nonesuch: not scalar' "$tmp/err.isa"
ok $? "an unknown R1CHAT_ISA is refused in one line, exit status 2"
R1CHAT_ISA=scalar "$R1CHAT" --temp 0 -n 4 "$model" hi >/dev/null 2>&1
ok $? "R1CHAT_ISA=scalar: the chat runs"

# --- arguments: no abbreviated long options, text that starts with '-' -------

"$R1CHAT" --remote http://127.0.0.1:1/v1 --api-key sk-secret123 hi \
    >/dev/null 2>"$tmp/err.ak"
[ $? -eq 2 ] && grep -q 'did you mean --api-key-file' "$tmp/err.ak" &&
    ! grep -q 'sk-secret123' "$tmp/err.ak"
ok $? "--api-key KEY: not taken for --api-key-file, and the key not echoed"
"$R1CHAT" --api-key=sk-secret123 "$model" hi >/dev/null 2>"$tmp/err.ak2"
[ $? -eq 2 ] && ! grep -q 'sk-secret123' "$tmp/err.ak2"
ok $? "--api-key=KEY: refused, the key not echoed"
chat -n 3 "-5 plus 3" >/dev/null 2>"$tmp/err.dash"
[ $? -eq 2 ] && grep -q "^r1chat: -5: unknown option (text that starts with '-' goes after --)" \
    "$tmp/err.dash"
ok $? "a message starting with '-': names it and says to put it after --"
chat -- "-5 plus 3" >"$tmp/out.dash" 2>/dev/null && [ -s "$tmp/out.dash" ]
ok $? "after --, a message starting with '-' is answered"

# --- the parameter table's check, from the command line -----------------------------

"$R1CHAT" --think-budget -2 "$model" hi >/dev/null 2>"$tmp/err.tb"
[ $? -eq 2 ] && [ "$(wc -l <"$tmp/err.tb")" -eq 1 ] &&
    grep -qx 'r1chat: --think-budget: -2: must be -1 or more' "$tmp/err.tb"
ok $? "--think-budget -2: refused in one line, in the table's words"
"$R1CHAT" --raw --top-p 2 "$model" hi >/dev/null 2>"$tmp/err.tp"
[ $? -eq 2 ] && grep -qx 'r1chat: --top-p: 2: must be between 0 and 1' "$tmp/err.tp"
ok $? "--raw --top-p 2: refused by the same check"
"$R1CHAT" --think --nothink "$model" hi >/dev/null 2>"$tmp/err.tn"
[ $? -eq 2 ] && grep -q 'choose one' "$tmp/err.tn"
ok $? "--think and --nothink: choose one"

# --- seeds ----------------------------------------------------------------------------

"$R1CHAT" --template deepseek-r1 --seed 7 --temp 0.9 -n 24 --think-budget 6 \
    "$model" hi >"$tmp/s1" 2>&1
"$R1CHAT" --template deepseek-r1 --seed 7 --temp 0.9 -n 24 --think-budget 6 \
    "$model" hi >"$tmp/s2" 2>&1
cmp -s "$tmp/s1" "$tmp/s2"
ok $? "the same seed, the same words"

# --- the demo, one-shot -------------------------------------------------------------------

"$R1CHAT" --demo </dev/null >"$tmp/demo.out" 2>"$tmp/demo.err"
ok $? "--demo without a terminal: exit status 0"
grep -qx '238 + 475 = 713' "$tmp/demo.out" &&
    [ "$(sed -n 1p "$tmp/demo.err")" = "Thinking..." ] &&
    grep -qx '\.\.\.done thinking\.' "$tmp/demo.err"
ok $? "--demo with no message works its own sum: the working, then the answer"
! grep -q '/bye\|/?\|demo model' "$tmp/demo.err"
ok $? "--demo without a terminal: no greeting, no REPL hints"
"$R1CHAT" --demo What is 12 + "30?" </dev/null >"$tmp/demo.out" 2>/dev/null
grep -qx '12 + 30 = 42' "$tmp/demo.out"
ok $? "--demo takes the message from its arguments"
[ ! -e "$XDG_CACHE_HOME/r1chat" ]
ok $? "--demo writes nothing in \$XDG_CACHE_HOME"

echo "1..$n"
[ "$failed" -eq 0 ]
