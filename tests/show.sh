#!/bin/sh
# show.sh - `r1chat show` prints ollama's Model section for a GGUF file,
# and with --verbose every key and tensor.
#
# Expected values: the model's keys are those tests/mkbad writes; tensor
# offsets and the parameter count were read from the same file with
# gguf-py (GGUFReader: data_offset minus the data section's start,
# n_elements); parameter strings are ollama's format.HumanNumber test
# vectors (format/format_test.go) and, for 494.03M and 1.8B, what
# `ollama show` prints for qwen2.5:0.5b and deepseek-r1:1.5b.

: "${R1CHAT:?R1CHAT not set}"
MKBAD=${MKBAD:-$(dirname "$R1CHAT")/tests/mkbad}
MKMODEL=${MKMODEL:-$(dirname "$R1CHAT")/tests/mkmodel}
TESTDATA=${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-show.XXXXXX") || exit 99
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
# check DESCRIPTION COMMAND...: a test passing when COMMAND succeeds
check() {
	what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# field FILE SECTION NAME: the value of row NAME in SECTION of FILE
field() {
	awk -v sec="  $2" -v name="$3" '
		/^  [^ ]/ { in_sec = ($0 == sec); next }
		in_sec && index($0, "    " name "  ") == 1 {
			v = substr($0, length(name) + 5)
			sub(/^ +/, "", v); sub(/ +$/, "", v); print v; exit
		}' "$1"
}

"$MKBAD" good "$tmp/good.gguf" || { echo "Bail out! mkbad good"; exit 99; }

"$R1CHAT" show "$tmp/good.gguf" >"$tmp/out" 2>"$tmp/err"
check "show exits 0" [ $? -eq 0 ]
check "show writes nothing on stderr" [ ! -s "$tmp/err" ]
check "first line is '  Model'" [ "$(sed -n 1p "$tmp/out")" = "  Model" ]
"$R1CHAT" show "$tmp/good.gguf" extra >"$tmp/x.out" 2>"$tmp/x.err"
rc=$?
check "show with an extra argument: usage error, exit 2 ($rc)" [ $rc -eq 2 ]
check "show with an extra argument: one line naming it, nothing shown" \
    [ "$(wc -l <"$tmp/x.err")" -eq 1 -a ! -s "$tmp/x.out" ]
# mkbad's template is the first R1 GGUFs' (the model writes <think>
# itself): the family the chat uses for it, template.c's deepseek-r1-legacy.
for kv in "architecture=qwen2" "parameters=3K" "context length=131072" \
    "embedding length=1536" "quantization=Q4_K_M" \
    "chat template=deepseek-r1-legacy"; do
	name=${kv%%=*}
	want=${kv#*=}
	got=$(field "$tmp/out" Model "$name")
	check "$name is '$want' (got '$got')" [ "$got" = "$want" ]
done
# ollama's tablewriter: four spaces before and after every cell, cells
# padded to the widest of their column ("embedding length", 16), but no
# spaces at the end of a line.
check "rows laid out as ollama's" \
    [ "$(sed -n 2p "$tmp/out")" = "    architecture        qwen2" ]
check "no line ends with a space" [ -z "$(grep ' $' "$tmp/out")" ]
check "Model section: 6 rows and an empty line" \
    [ "$(sed -n 8p "$tmp/out")" = "" ]
# the kernels chosen (R1CHAT_CALIBRATE=0 in make check: the CPU model's)
check "then the Kernels section: the path and how it was chosen" \
    [ "$(sed -n 9p "$tmp/out")" = "  Kernels" -a \
    -n "$(sed -n '10{/^    [a-z0-9-]* (.*)$/p}' "$tmp/out")" -a \
    "$(sed -n 11p "$tmp/out")" = "" -a "$(wc -l <"$tmp/out")" -eq 11 ]

"$R1CHAT" show "$tmp/good.gguf" --verbose >"$tmp/vout" 2>"$tmp/err"
check "show --verbose exits 0" [ $? -eq 0 ]
check "--verbose starts with the same Model and Kernels sections" \
    [ "$(head -11 "$tmp/vout")" = "$(cat "$tmp/out")" ]
check "--verbose: no line ends with a space" \
    [ -z "$(grep ' $' "$tmp/vout")" ]
for kv in "general.file_type=u32    15" \
    "qwen2.context_length=u32    131072" \
    "qwen2.rope.freq_base=f32    10000" \
    "general.name=string    mkbad test model" \
    'tokenizer.ggml.tokens=string[3]    ["a", "b", "<think>"]'; do
	name=${kv%%=*}
	want=$(echo "${kv#*=}" | tr -s ' ')
	got=$(field "$tmp/vout" Metadata "$name" | tr -s ' ')
	check "metadata $name is '$want' (got '$got')" [ "$got" = "$want" ]
done
got=$(field "$tmp/vout" Metadata tokenizer.chat_template)
case $got in
"string"*"{{bos_token}}{% for m in messages %}"*"...") ok "long strings cut" ;;
*) not_ok "long strings cut (got '$got')" ;;
esac
check "metadata sorted by key" [ "$(awk '/^  Metadata/ { m = 1; next }
    /^$/ { m = 0 } m { print $1 }' "$tmp/vout")" = "$(awk '/^  Metadata/ {
    m = 1; next } /^$/ { m = 0 } m { print $1 }' "$tmp/vout" | LC_ALL=C sort)" ]
for kv in "token_embd.weight=F32 [256 4] 0" \
    "blk.0.attn_q.weight=Q4_K [256 8] 4096" \
    "blk.0.attn_k.weight=Q8_0 [64 3] 5248" \
    "output_norm.weight=F16 [32] 5472"; do
	name=${kv%%=*}
	want=${kv#*=}
	got=$(field "$tmp/vout" Tensors "$name" | tr -s ' ')
	check "tensor $name is '$want' (got '$got')" [ "$got" = "$want" ]
done

# Parameter counts, formatted as ollama does.
for kv in 0=0 999=999 1000=1K 1001=1K 1000000=1M 125000000=125M \
    500500000=500.50M 500550000=500.55M 494032768=494.03M \
    1000000000=1B 1777088000=1.8B 2800000000=2.8B 2850000000=2.9B; do
	count=${kv%%=*}
	want=${kv#*=}
	if ! "$MKBAD" params "$tmp/p.gguf" "$count"; then
		not_ok "a model of $count parameters written"
		continue
	fi
	"$R1CHAT" show "$tmp/p.gguf" >"$tmp/out" 2>&1
	got=$(field "$tmp/out" Model parameters)
	check "$count parameters show as '$want' (got '$got')" \
	    [ "$got" = "$want" ]
done
check "no chat template: 'none'" \
    [ "$(field "$tmp/out" Model "chat template")" = none ]
check "no file type: quantization 'unknown'" \
    [ "$(field "$tmp/out" Model quantization)" = unknown ]
rm -f "$tmp/p.gguf"

# The chat template families, from the models' own templates.
if [ -d "$TESTDATA/templates/sources" ]; then
	for t in "$TESTDATA"/templates/sources/*.jinja; do
		fam=$(basename "$t" .jinja)
		"$MKBAD" good "$tmp/t.gguf" "$t" &&
		    "$R1CHAT" show "$tmp/t.gguf" >"$tmp/out" 2>&1
		got=$(field "$tmp/out" Model "chat template")
		check "template $fam recognised (got '$got')" [ "$got" = "$fam" ]
	done
else
	not_ok "$TESTDATA/templates/sources missing"
fi
printf 'hello {{ messages }}' >"$tmp/other.jinja"
"$MKBAD" good "$tmp/t.gguf" "$tmp/other.jinja" &&
    "$R1CHAT" show "$tmp/t.gguf" >"$tmp/out" 2>&1
check "other templates: 'unknown'" \
    [ "$(field "$tmp/out" Model "chat template")" = unknown ]

# Errors: one line on stderr, exit 1; usage errors exit 2.
"$R1CHAT" show "$tmp/missing.gguf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "missing file: exit 1, one line naming it" \
    [ $rc -eq 1 -a ! -s "$tmp/out" -a "$(cat "$tmp/err")" = \
    "r1chat: $tmp/missing.gguf: No such file or directory" ]
"$R1CHAT" show >"$tmp/out" 2>"$tmp/err"
rc=$?
check "no model: exit 2, nothing on stdout" [ $rc -eq 2 -a ! -s "$tmp/out" ]
"$R1CHAT" show -m "$tmp/good.gguf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "-m MODEL works too" \
    [ $rc -eq 0 -a "$(field "$tmp/out" Model architecture)" = qwen2 ]

# An i-quant mixture (mkmodel's UD-IQ1_S: 2 layers of qwen2, Unsloth's
# way): the file type's name, and --verbose's count of tensors per type
# agrees with the Tensors section and with the mixture's rules.
if [ -x "$MKMODEL" ] && [ -f "$TESTDATA/vocab/deepseek-r1-qwen.gguf" ]; then
	R1CHAT_TESTDATA=$TESTDATA "$MKMODEL" --arch qwen2 --type UD-IQ1_S \
	    --seed 1 -o "$tmp/iq.gguf" </dev/null ||
	    { echo "Bail out! mkmodel UD-IQ1_S"; exit 99; }
	"$R1CHAT" show "$tmp/iq.gguf" --verbose >"$tmp/out" 2>"$tmp/err"
	check "IQ1_S mixture: quantization 'IQ1_S'" \
	    [ "$(field "$tmp/out" Model quantization)" = IQ1_S ]
	awk '/^  [^ ]/ { s = $0; next } s == "  Tensor types" && NF == 2 {
		print $1, $2 }' "$tmp/out" >"$tmp/counts"
	awk '/^  [^ ]/ { s = $0; next } s == "  Tensors" && NF >= 2 {
		c[$2]++ } END { for (t in c) print t, c[t] }' "$tmp/out" |
	    sort >"$tmp/want"
	check "IQ1_S mixture: Tensor types counts the Tensors section" \
	    [ "$(sort "$tmp/counts")" = "$(cat "$tmp/want")" ]
	check "IQ1_S mixture: the rules' counts, in type id order" \
	    [ "$(tr '\n' ' ' <"$tmp/counts")" = \
	    "F32 11 Q2_K 4 Q4_K 1 Q5_K 2 Q6_K 3 IQ2_XXS 2 IQ1_S 4 " ]
else
	not_ok "IQ1_S mixture: no $MKMODEL or test data vocabulary"
fi

# Fit: the memory a model and a context need, what there is, the rate to
# expect.  The bandwidth is measured once a boot and kept, with the boot's
# id, in $XDG_CACHE_HOME/r1chat/bandwidth: a value put there is the one
# used: the estimate is read x 0.9 / the bytes a token reads (the Q8_0
# dots go faster than the 500 MB/s written there on any CPU, even in a
# sanitizer build: 6.9 GB/s), a mixture's routed experts at 0.6 of that.
XDG_CACHE_HOME="$tmp/cache"
export XDG_CACHE_HOME
boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)
if [ -x "$MKMODEL" ] && [ -n "$boot" ]; then
	R1CHAT_TESTDATA=$TESTDATA "$MKMODEL" --arch qwen2 --type Q8_0 --seed 1 \
	    -o "$tmp/q8.gguf" </dev/null >/dev/null 2>&1 &&
	    R1CHAT_TESTDATA=$TESTDATA "$MKMODEL" --arch ds2-v3 --type Q8_0 \
	    --seed 2 -o "$tmp/moe.gguf" \
	    </dev/null >/dev/null 2>&1 || { echo "Bail out! mkmodel"; exit 99; }
	"$R1CHAT" show "$tmp/q8.gguf" >"$tmp/out" 2>"$tmp/err"
	check "Fit: the bandwidth measured once and kept with the boot's id" \
	    [ "$(cut -d' ' -f1 "$tmp/cache/r1chat/bandwidth")" = "$boot" -a \
	    "$(cut -d' ' -f2 "$tmp/cache/r1chat/bandwidth")" -gt 0 ]
	check "Fit: the model's default context (4096), weights, fits" \
	    [ "$(field "$tmp/out" Fit context | sed 's/.*(//')" = \
	    "4096 tokens, F16 cache)" -a \
	    "$(field "$tmp/out" Fit weights)" = "3.7 MB" -a \
	    "$(field "$tmp/out" Fit fits)" = yes ]
	echo "$boot 500000000" >"$tmp/cache/r1chat/bandwidth"
	"$R1CHAT" show "$tmp/q8.gguf" -c 512 >"$tmp/out" 2>"$tmp/err"
	g=$(field "$tmp/out" Fit generation)
	# 2.5 MB a token: the weights but the embedding (output is apart)
	check "Fit: the rate from the kept bandwidth: $g" \
	    [ "$g" = "183.2 tokens/s, an estimate (2.5 MB a token at 450 MB/s: 500 MB/s read x 0.90)" ]
	check "Fit: -c sizes the context: $(field "$tmp/out" Fit context)" \
	    [ "$(field "$tmp/out" Fit context)" = "524 KB (512 tokens, F16 cache)" ]
	"$R1CHAT" show "$tmp/moe.gguf" >"$tmp/out" 2>"$tmp/err"
	w=$(field "$tmp/out" Fit weights)
	g=$(field "$tmp/out" Fit generation)
	check "Fit, a mixture: the dense part and the experts apart: $w" \
	    sh -c 'echo "$1" | grep -q "^.* (dense .*, experts .*)$"' - "$w"
	# mkmodel's ds2-v3 routes to 4 experts of 16: a token reads the
	# dense part but the embedding (1.46 MB) and a quarter of the experts
	check "Fit, a mixture: a token reads the experts it uses: $g" \
	    [ "$g" = "72.6 tokens/s, an estimate (4.1 MB a token at 450 MB/s: 500 MB/s read x 0.90, and 1.3 MB of experts at x 0.60 of it)" ]
else
	not_ok "Fit: no $MKMODEL or no boot id"
fi

echo "1..$n"
[ $failed -eq 0 ]
