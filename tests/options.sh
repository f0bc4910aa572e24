#!/bin/sh
# options.sh - the command line: every command's --help (and -h, and
# `r1chat help COMMAND`) lists its options on stdout, exit 0; a bad value
# is a usage error (exit 2, one line naming the option) before any model
# opens, for every command that takes the option; an option of another
# command is refused; -t above the processors and -c above the model's
# trained context warn once; the man page has every option --help lists.

: "${R1CHAT:?R1CHAT must name the r1chat binary}"
: "${MKMODEL:?MKMODEL must name tests/mkmodel}"
vocab="${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}/vocab/deepseek-r1-qwen.gguf"
man="${top_srcdir:-.}/man/r1chat.1"
if [ ! -f "$vocab" ]; then
	echo "Bail out! no test data ($vocab)"
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-options.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
LC_ALL=C.UTF-8
export LC_ALL
OMP_WAIT_POLICY=passive
export OMP_WAIT_POLICY

. "${top_srcdir:-.}/tests/tap.sh"

# --- --help ------------------------------------------------------------------

# COMMAND OPTION: `r1chat COMMAND --help` exits 0, says nothing on stderr
# and lists OPTION at the start of a line (after its short name, if any).
# The chat is "-", --raw "--raw".
lists() {
	cmd=$1
	[ "$cmd" = - ] && cmd=
	"$R1CHAT" $cmd --help >"$tmp/help" 2>"$tmp/help.err" &&
	    [ ! -s "$tmp/help.err" ] &&
	    grep -q "^  \(-., \|    \)$2[ ,]" "$tmp/help"
}
for c in "- --temp" "- --remote" "- --system-prompt" "--raw --ids" \
    "serve --port" "serve --temp" "show --verbose" "tokenize --no-bos" \
    "perplexity --file" "perplexity --ctx-size" "bench --repetitions" \
    "bench --threads" "quantize --help" "pull --registry" \
    "pull --connections"; do
	lists $c
	ok $? "r1chat ${c% *} --help lists ${c#* }"
done
"$R1CHAT" serve --help >"$tmp/serve.help" &&
    ! grep -q '^  \(-., \|    \)--\(system-prompt\|n-prompt\|remote\)[ ,]' \
    "$tmp/serve.help"
ok $? "serve --help lists none of the options serve does not take"
"$R1CHAT" --help | sed -n '/^Commands/,$p' >"$tmp/cmds"
miss=0
for c in show quantize perplexity bench serve tokenize pull list rm; do
	grep -q "^  $c " "$tmp/cmds" || miss=1
done
ok $miss "r1chat --help lists the commands"
"$R1CHAT" serve "$tmp/none.gguf" --port 1 -h >"$tmp/h" 2>"$tmp/h.err"
[ $? -eq 0 ] && [ ! -s "$tmp/h.err" ] && cmp -s "$tmp/h" "$tmp/serve.help"
ok $? "-h after a model and other options: the command's help, exit 0"
"$R1CHAT" -c -5 --help >"$tmp/h" 2>&1 && grep -q '^usage: r1chat ' "$tmp/h"
ok $? "--help anywhere: help, not a complaint about the other options"
miss=0
for c in "" show quantize perplexity bench serve tokenize pull list rm; do
	"$R1CHAT" help $c >"$tmp/a" 2>&1 && "$R1CHAT" $c --help >"$tmp/b" 2>&1 &&
	    cmp -s "$tmp/a" "$tmp/b" || miss=1
done
ok $miss "r1chat help COMMAND is r1chat COMMAND --help, help alone --help"
miss=0
for c in --raw raw; do
	"$R1CHAT" help $c >"$tmp/a" 2>&1 && "$R1CHAT" --raw --help >"$tmp/b" &&
	    cmp -s "$tmp/a" "$tmp/b" || miss=1
done
ok $miss "r1chat help --raw (or raw) is r1chat --raw --help"
"$R1CHAT" help nosuch >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
    grep -q '^r1chat: help: nosuch: not a command' "$tmp/err"
ok $? "r1chat help nosuch: a usage error, one line"

# Every option a --help lists is in the man page.
for c in "" --raw show quantize perplexity bench serve tokenize pull list \
    rm; do
	"$R1CHAT" $c --help
done | sed -n 's/^  \(-., \|    \)--\([a-z-]*\).*/\2/p' | sort -u >"$tmp/names"
missing=
while read -r name; do
	grep -qF -- "$(printf '%s' "--$name" | sed 's/-/\\-/g')" "$man" ||
	    missing="$missing --$name"
done <"$tmp/names"
[ -s "$tmp/names" ] && [ -z "$missing" ]
ok $? "the man page has every option --help lists${missing:+ (not:$missing)}"

# --- bad values: exit 2, one line naming the option, no model opened --------

nomodel="$tmp/nonexistent.gguf"
printf 'text\n' >"$tmp/text"
# bad WANT ARGS...: exit status 2, and stderr is the one line WANT.
bad() {
	want=$1
	shift
	"$R1CHAT" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && [ "$(cat "$tmp/err")" = "r1chat: $want" ] &&
	    [ ! -s "$tmp/out" ]
}
ctx="must be between 64 and 1048576"
while IFS='|' read -r want args; do
	for cmd in "" "--raw" "serve" "perplexity -f $tmp/text" "bench"; do
		case "$cmd:$args" in
		bench:-c*|bench:--ctx*|bench:--temp*|bench:--kv*|perplexity*:--temp*)
			continue ;;
		esac
		# shellcheck disable=SC2086
		bad "$want" $cmd $args "$nomodel" $([ "$cmd" = serve ] ||
		    echo hi)
		ok $? "$(echo "${cmd%% -f*} $args" | sed 's/^ //'): $(head -n 1 \
		    "$tmp/err")"
	done
done <<EOF
--ctx-size: -5: $ctx|-c -5
--ctx-size: 0: $ctx|-c 0
--ctx-size: 1: $ctx|-c 1
--ctx-size: 4294967360: $ctx|-c 4294967360
--ctx-size: 99999999999999999999: $ctx|--ctx-size 99999999999999999999
--threads: 0: must be between 1 and 1024|-t 0
--threads: -1: must be between 1 and 1024|-t -1
--temp: -1: must be 0 or more|--temp -1
--temp: abc: not a number|--temp abc
--kv-type: q8_0: must be f16 or f32|--kv-type q8_0
EOF
bad "--batch-size: 0: must be between 1 and 1048576" -b 0 "$nomodel" hi
ok $? "-b 0: $(cat "$tmp/err")"
bad "--template: x: must be deepseek-r1, deepseek-r1-legacy, deepseek-v3, chatml or llama3" \
    --template x "$nomodel" hi
ok $? "--template x: the names listed"
bad "--reasoning-format: x: must be deepseek or none" serve "$nomodel" \
    --reasoning-format x
ok $? "serve --reasoning-format x: the names listed"
bad "--port: 65536: must be between 0 and 65535" serve "$nomodel" --port 65536
ok $? "serve --port 65536: $(cat "$tmp/err")"
bad "--queue: -1: must be between 0 and 1024" serve "$nomodel" --queue -1
ok $? "serve --queue -1: $(cat "$tmp/err")"
bad "--timeout: 0: must be between 1 and 86400" --remote http://127.0.0.1:1 \
    --timeout 0 hi
ok $? "--remote --timeout 0: $(cat "$tmp/err")"
bad "--top-k: 3000000000: must be between 0 and 2147483647" \
    --top-k 3000000000 "$nomodel" hi
ok $? "--top-k 3000000000 does not wrap around: $(cat "$tmp/err")"

# --- an option of another command ----------------------------------------------

bad "show: --temp: not an option of show" show "$nomodel" --temp 1
ok $? "show --temp: not an option of show"
bad "--raw: --template: not an option of --raw" --raw --template chatml \
    "$nomodel" hi
ok $? "--raw --template: not an option of --raw"
bad "serve: --system-prompt: not an option of serve" serve "$nomodel" \
    --system-prompt hi
ok $? "serve --system-prompt (each request has its own): refused"
bad "--port: not an option of the chat" --port 8080 "$nomodel" hi
ok $? "the chat's --port: not an option of the chat"

# --- the warnings: once each -----------------------------------------------------

model="$tmp/m.gguf"
mkqwen2 "$model" --ctx 128
procs=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
# once PATTERN ARGS...: r1chat ARGS exits 0 and stderr has PATTERN once.
once() {
	pat=$1
	shift
	"$R1CHAT" "$@" </dev/null >/dev/null 2>"$tmp/err" &&
	    [ "$(grep -c "$pat" "$tmp/err")" -eq 1 ]
}
tw="^r1chat: warning: --threads: $((procs + 1)): more than the $procs processors$"
cw="^r1chat: warning: --ctx-size: 256: more than the model's trained context, 128 tokens$"
once "$tw" -t $((procs + 1)) --template deepseek-r1 --temp 0 -n 2 --nothink \
    "$model" hi
ok $? "-t above the processors: the chat warns once"
once "$tw" --raw -t $((procs + 1)) -n 2 "$model" hi
ok $? "-t above the processors: --raw warns once"
once "$cw" --template deepseek-r1 --temp 0 -n 2 --nothink -c 256 "$model" hi
ok $? "-c above the trained context: the chat warns once"
once "$cw" --raw -c 256 -n 2 "$model" hi
ok $? "-c above the trained context: --raw warns once"
head -c 4000 /dev/zero | tr '\0' 'a' | sed 's/aaaa/word /g' >"$tmp/long"
once "$cw" perplexity "$model" -c 256 -f "$tmp/long"
ok $? "-c above the trained context: perplexity warns once"
"$R1CHAT" --template deepseek-r1 --temp 0 -n 2 --nothink -c 128 -t "$procs" \
    "$model" hi </dev/null >/dev/null 2>"$tmp/err" &&
    ! grep -q '^r1chat: warning' "$tmp/err"
ok $? "-c at the trained context, -t at the processors: no warning"

echo "1..$n"
[ "$failed" -eq 0 ]
