#!/bin/sh
# tokenize.sh - `r1chat tokenize MODEL [TEXT] [--ids] [--no-bos] [--no-special]`
# on the real vocabularies of $R1CHAT_TESTDATA/vocab; without TEXT, stdin.
#
# Expected ids are llama.cpp's, from the reference (../shared/oracle):
#   llref tokenize deepseek-r1-qwen.gguf 'Hello world'
#     -> 151646 9707 1879
#   llref tokenize deepseek-r1-qwen.gguf '<｜User｜>Hi<think>' --no-bos
#     -> 151644 13048 151648
#   llref tokfile deepseek-r1-qwen.gguf FILE   (FILE holding that text;
#   specials not parsed, no BOS)
#     -> 27 130957 1474 130957 29 13048 151648
#   llref tokenize deepseek-r1.gguf '<｜User｜>你好'
#     -> 0 128803 30594
#   llref tokenize llama-bpe.gguf 'Hello world'
#     -> 128000 9906 1917

: "${R1CHAT:?R1CHAT not set}"
TESTDATA=${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}
V=$TESTDATA/vocab

if [ ! -f "$V/deepseek-r1-qwen.gguf" ]; then
	echo "Bail out! no $V/deepseek-r1-qwen.gguf"
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-tokenize.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# on_tty; the ok and not_ok below replace tap.sh's
. "${top_srcdir:-.}/tests/tap.sh"
n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	failed=$((failed + 1))
}
# same DESCRIPTION EXPECTED-FILE GOT-FILE
same() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1"
		diff "$2" "$3" | sed 's/^/# /'
	fi
}

Q=$V/deepseek-r1-qwen.gguf
USER='<｜User｜>'

"$R1CHAT" tokenize "$Q" 'Hello world' --ids >"$tmp/out" 2>"$tmp/err"
echo '[151646, 9707, 1879]' >"$tmp/want"
same "--ids: BOS as the model says, then the ids" "$tmp/want" "$tmp/out"

"$R1CHAT" tokenize "$Q" 'Hello world' >"$tmp/out" 2>"$tmp/err"
printf "%6d  '%s'\n" 151646 '<｜begin▁of▁sentence｜>' 9707 'Hello' \
    1879 ' world' >"$tmp/want"
same "one line per token: id and quoted piece" "$tmp/want" "$tmp/out"

"$R1CHAT" tokenize "$Q" "${USER}Hi<think>" --no-bos --ids >"$tmp/out"
echo '[151644, 13048, 151648]' >"$tmp/want"
same "--no-bos, specials parsed by default" "$tmp/want" "$tmp/out"

"$R1CHAT" tokenize "$Q" "${USER}Hi<think>" --no-bos --no-special --ids \
    >"$tmp/out"
echo '[27, 130957, 1474, 130957, 29, 13048, 151648]' >"$tmp/want"
same "--no-special: control tokens are text, <think> (user-defined) is not" \
    "$tmp/want" "$tmp/out"

"$R1CHAT" tokenize "$Q" "$(printf 'a\377b')" --no-bos >"$tmp/out"
printf "%6d  '%s'\n" 64 a 5691 '�' 65 b >"$tmp/want"
same "a byte that is not UTF-8 reads as U+FFFD (llref: 64 5691 65)" \
    "$tmp/want" "$tmp/out"

"$R1CHAT" tokenize "$V/deepseek-r1.gguf" "${USER}你好" --ids >"$tmp/out"
echo '[0, 128803, 30594]' >"$tmp/want"
same "deepseek-r1 (pre deepseek-v3)" "$tmp/want" "$tmp/out"
"$R1CHAT" tokenize "$V/llama-bpe.gguf" 'Hello world' --ids >"$tmp/out"
echo '[128000, 9906, 1917]' >"$tmp/want"
same "llama-bpe: BOS without add_bos_token (llama3's default)" \
    "$tmp/want" "$tmp/out"

# No TEXT: stdin, as llama-tokenize --stdin reads it (a final newline
# is a token too: 198, 'Ċ'); from a terminal, a line says so first.
printf 'Hello world' | "$R1CHAT" tokenize "$Q" --ids >"$tmp/out" 2>"$tmp/err"
echo '[151646, 9707, 1879]' >"$tmp/want"
same "no TEXT: the text from stdin" "$tmp/want" "$tmp/out"
echo 'Hello world' | "$R1CHAT" tokenize "$Q" --ids >"$tmp/out" 2>"$tmp/err"
echo '[151646, 9707, 1879, 198]' >"$tmp/want"
same "no TEXT: stdin as it is, its newline too" "$tmp/want" "$tmp/out"
on_tty 'Hello world' "$R1CHAT" tokenize "$Q" --ids >"$tmp/out"
rc=$?
if [ $rc -eq 77 ]; then
	n=$((n + 1))
	echo "ok $n - no TEXT, stdin a terminal # SKIP no util-linux script(1)"
elif grep -qx 'r1chat: reading the text from the terminal: end it with Ctrl-D, or give it as arguments' "$tmp/out" &&
    grep -qx '\[151646, 9707, 1879, 198\]' "$tmp/out"; then
	ok "no TEXT, stdin a terminal: a line says how to end it, then the ids"
else
	not_ok "no TEXT, stdin a terminal: a line says how to end it, then the ids"
	sed 's/^/# /' "$tmp/out"
fi

"$R1CHAT" tokenize "$Q" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && grep -q '^r1chat: tokenize: no text given$' "$tmp/err"
then
	ok "no text, stdin empty: usage error, status 2"
else
	not_ok "no text, stdin empty: usage error, status 2 (got $rc)"
fi

"$R1CHAT" tokenize "$tmp/nonexistent.gguf" hi >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -s "$tmp/out" ] &&
    [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
    grep -q "^r1chat: $tmp/nonexistent.gguf: " "$tmp/err"; then
	ok "a missing model: one error line, status 1"
else
	not_ok "a missing model: one error line, status 1 (got $rc)"
	sed 's/^/# /' "$tmp/err"
fi

echo "1..$n"
[ $failed -eq 0 ]
