#!/bin/sh
# quantize.sh - `r1chat quantize` gives every tensor the type llama.cpp's
# quantizer gives it, with llama.cpp's very bytes, and a failed or
# interrupted run leaves no output file.
#
# The expected types and SHA-256 sums in tests/golden/quantize-types.txt
# were made by llama.cpp's llama_model_quantize on the same mkmodel
# files (its header says how).  The byte checks are skipped, not failed,
# when mkmodel no longer makes the very file the sums were made from.

: "${R1CHAT:?R1CHAT not set}"
: "${MKMODEL:?MKMODEL not set}"
TESTDATA=${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}
GOLDEN=${top_srcdir:-.}/tests/golden/quantize-types.txt

if [ ! -f "$TESTDATA/vocab/deepseek-r1-qwen.gguf" ] ||
    [ ! -f "$TESTDATA/vocab/llama-bpe.gguf" ]; then
	echo "Bail out! no test data ($TESTDATA) for mkmodel's vocabularies"
	exit 99
fi
export R1CHAT_TESTDATA="$TESTDATA"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-quantize.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

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
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
check() {
	what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
sha() {
	sha256sum <"$1" | cut -d' ' -f1
}
have_sha=0
command -v sha256sum >/dev/null 2>&1 && have_sha=1

# golden KIND MODEL [WHAT]: the rest of the golden line "KIND MODEL WHAT ..."
golden() {
	if [ $# -eq 2 ]; then
		awk -v k="$1" -v m="$2" '$1 == k && $2 == m {
			$1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' "$GOLDEN"
	else
		awk -v k="$1" -v m="$2" -v w="$3" '$1 == k && $2 == m &&
		    $3 == w { $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, "");
		    print; exit }' "$GOLDEN"
	fi
}
# shown FILE: "name type" of each tensor `r1chat show --verbose` lists
shown() {
	"$R1CHAT" show "$1" --verbose </dev/null | awk '
		/^  [^ ]/ { in_t = ($0 == "  Tensors"); next }
		in_t && NF >= 2 { print $1, $2 }'
}
# model_field FILE NAME: the value of row NAME of the Model section
model_field() {
	"$R1CHAT" show "$1" </dev/null | awk -v name="$2" '
		/^  [^ ]/ { in_m = ($0 == "  Model"); next }
		in_m && index($0, "    " name "  ") == 1 {
			v = substr($0, length(name) + 5)
			sub(/^ +/, "", v); sub(/ +$/, "", v); print v; exit }'
}

# said FIRST-LINE TYPE: $tmp/said is quantize's summary on stdout: the
# files and their types, the tensors' sizes in MiB before and after (less
# after, but for F16 and BF16), perhaps the tensors left in another type,
# the time taken
said() {
	awk -v first="$1" -v ft="$2" '
		NR == 1 { ok = $0 == first; next }
		NR == 2 { ok = ok && /^model size = [0-9]+\.[0-9][0-9] MiB$/
			m = $4; next }
		NR == 3 { ok = ok && /^quant size = [0-9]+\.[0-9][0-9] MiB$/ &&
			$4 > 0 && (ft ~ /^B?F16$/ || $4 < m); next }
		/^[0-9]+ tensors in another type: rows not whole blocks$/ {
			next }
		/^quantize time = [0-9]+\.[0-9][0-9] ms$/ { t++; next }
		{ ok = 0 }
		END { exit !(ok && t == 1) }' "$tmp/said"
}
show() { sed 's/^/# /' "$@"; }

[ -f "$GOLDEN" ] || { echo "Bail out! no $GOLDEN"; exit 99; }

# --- every file type: llama.cpp's tensor types, and its bytes ----------------
for m in $(awk '$1 == "model" { print $2 }' "$GOLDEN"); do
	in="$tmp/$m.gguf"
	# shellcheck disable=SC2046
	"$MKMODEL" $(golden model "$m") -o "$in" </dev/null ||
	    { echo "Bail out! mkmodel $(golden model "$m")"; exit 99; }
	same_input=0
	[ $have_sha = 1 ] && [ "$(sha "$in")" = "$(golden sha "$m" input)" ] &&
	    same_input=1
	golden names "$m" | tr ' ' '\n' >"$tmp/names"
	for ft in $(awk -v m="$m" '$1 == m { print $2 }' "$GOLDEN"); do
		out="$tmp/$m-$ft.gguf"
		"$R1CHAT" quantize "$in" "$out" "$ft" </dev/null \
		    >"$tmp/said" 2>"$tmp/err"
		rc=$?
		check "$m $ft: quantize exits 0 ($rc)" [ $rc -eq 0 ]
		check "$m $ft: nothing on stderr when it is not a terminal" \
		    [ ! -s "$tmp/err" ]
		from=$(golden model "$m" | sed 's/.*--type \([^ ]*\).*/\1/')
		if said "$in ($from) -> $out ($ft)" "$ft"; then
			ok "$m $ft: says what it did, as llama-quantize does"
		else
			not_ok "$m $ft: says what it did, as llama-quantize does"
			show "$tmp/said"
		fi
		golden "$m" "$ft" | tr ' ' '\n' >"$tmp/types"
		paste -d' ' "$tmp/names" "$tmp/types" >"$tmp/want"
		shown "$out" >"$tmp/got"
		if cmp -s "$tmp/want" "$tmp/got"; then
			ok "$m $ft: tensor types are llama.cpp's"
		else
			not_ok "$m $ft: tensor types are llama.cpp's"
			diff "$tmp/want" "$tmp/got" | sed 's/^/# /' | head -20
		fi
		got=$(model_field "$out" quantization)
		check "$m $ft: general.file_type says $ft ($got)" \
		    [ "$got" = "$ft" ]
		want=$(golden sha "$m" "$ft")
		if [ -z "$want" ] || [ $same_input = 0 ]; then
			skip "$m $ft: bytes are llama.cpp's" \
			    "mkmodel's file or sha256sum changed"
		else
			check "$m $ft: bytes are llama.cpp's" \
			    [ "$(sha "$out")" = "$want" ]
		fi
		rm -f "$out"
	done
done

# --- failures leave no output file ------------------------------------------
in="$tmp/A.gguf"
out="$tmp/out.gguf"

"$R1CHAT" quantize "$in" "$out" Q4_K_X </dev/null 2>"$tmp/err"
rc=$?
check "unknown type: usage error, exit 2 ($rc)" [ $rc -eq 2 ]
one_error_line() {
	[ "$(wc -l <"$1")" -eq 1 ] && grep -q '^r1chat: ' "$1"
}
check "unknown type: one line 'r1chat: ...'" one_error_line "$tmp/err"
check "unknown type: no output file" [ ! -e "$out" ]
"$R1CHAT" quantize "$in" "$out" iq2_xxs </dev/null 2>"$tmp/err"
rc=$?
check "IQ2_XXS: usage error, exit 2 ($rc)" [ $rc -eq 2 ]
imatrix_line() {
	one_error_line "$1" && grep -q 'iq2_xxs: needs an importance matrix' "$1"
}
check "IQ2_XXS: one line saying it needs an importance matrix" \
    imatrix_line "$tmp/err"
check "IQ2_XXS: no output file" [ ! -e "$out" ]

"$R1CHAT" quantize "$in" "$tmp/no/such/dir/out.gguf" Q8_0 </dev/null \
    2>"$tmp/err"
rc=$?
check "unwritable output: exit 1 ($rc)" [ $rc -eq 1 ]
check "unwritable output: no file" [ ! -e "$tmp/no" ]

"$R1CHAT" quantize "$in" "$tmp/q.gguf" Q4_K_M </dev/null 2>/dev/null
"$R1CHAT" quantize "$tmp/q.gguf" "$out" Q8_0 </dev/null 2>"$tmp/err"
rc=$?
check "requantizing is refused: exit 1 ($rc)" [ $rc -eq 1 ]
check "requantizing: no output file" [ ! -e "$out" ]
"$R1CHAT" quantize "$tmp/q.gguf" "$out" F32 </dev/null 2>"$tmp/err"
rc=$?
check "a quantized model to F32 (dequantized): exit 0 ($rc)" [ $rc -eq 0 ]
"$R1CHAT" show --verbose "$out" 2>/dev/null |
    sed -n '/^  Tensor types/,/^$/p' | sed '1d;/^$/d' >"$tmp/types"
check "a quantized model to F32: every tensor F32" \
    [ "$(awk '{ print $1 }' "$tmp/types")" = F32 ]
rm -f "$out"

printf 'not a gguf file' >"$tmp/bad.gguf"
"$R1CHAT" quantize "$tmp/bad.gguf" "$out" Q8_0 </dev/null 2>"$tmp/err"
rc=$?
check "malformed input: exit 1 ($rc)" [ $rc -eq 1 ]
check "malformed input: no output file" [ ! -e "$out" ]

# Interrupted: a model big enough to take a few seconds on one thread.
# SIGTERM, since a non-interactive shell starts background jobs with
# SIGINT ignored.
"$MKMODEL" --arch qwen2 --type F32 --seed 9 --layers 24 --embd 512 \
    --ff 1536 --heads 8 --kv-heads 2 -o "$tmp/big.gguf" </dev/null ||
    { echo "Bail out! mkmodel big"; exit 99; }
OMP_NUM_THREADS=1 "$R1CHAT" quantize "$tmp/big.gguf" "$out" Q3_K_M \
    </dev/null 2>/dev/null &
pid=$!
sleep 1
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
if [ $rc -eq 0 ]; then
	skip "interrupted run leaves no output file" "finished within 1s"
else
	check "interrupted run: killed by SIGTERM ($rc)" [ $rc -eq 143 ]
	check "interrupted run leaves no output file" [ ! -e "$out" ]
	check "interrupted run leaves no temporary file" \
	    [ -z "$(ls "$tmp" | grep '^out\.gguf')" ]
fi

echo "1..$n"
[ $failed -eq 0 ]
