#!/bin/sh
# store.sh - models by name: a fake ollama store and a fake r1chat store,
# built here (a JSON manifest and blobs named by their SHA-256, the model
# one of tests/mkmodel), under $OLLAMA_MODELS and $XDG_DATA_HOME; show,
# the chat, tokenize by name; a file always wins over a name; an unknown
# name is one line; `list` and `rm`.
#
# The manifest's shape is ollama's (server/images.go's Manifest: Docker's
# image manifest v2 with ollama's media types), as `ollama pull` leaves it
# under manifests/registry.ollama.ai/library/NAME/TAG.

: "${R1CHAT:?R1CHAT not set}"
: "${MKMODEL:?MKMODEL must name tests/mkmodel}"
vocab="${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}/vocab/deepseek-r1-qwen.gguf"
[ -f "$vocab" ] || { echo "Bail out! no test data ($vocab)"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-store.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
OLLAMA_MODELS="$tmp/ollama"
XDG_DATA_HOME="$tmp/data"
XDG_CACHE_HOME="$tmp/cache"
HOME="$tmp/home"
OMP_WAIT_POLICY=passive
export OLLAMA_MODELS XDG_DATA_HOME XDG_CACHE_HOME HOME OMP_WAIT_POLICY

. "${top_srcdir:-.}/tests/tap.sh"

mkqwen2 "$tmp/m.gguf" --type Q8_0

# blob ROOT FILE: FILE copied into ROOT's blobs; prints its digest.
blob() {
	h=$(sha256sum "$2" | cut -c1-64)
	mkdir -p "$1/blobs"
	cp "$2" "$1/blobs/sha256-$h"
	echo "sha256:$h"
}
# layer DIGEST TYPE FILE: a layer's JSON object.
layer() {
	printf '{"mediaType":"application/vnd.ollama.image.%s","digest":"%s","size":%s}' \
	    "$2" "$1" "$(wc -c <"$3")"
}
# manifest ROOT HOST/NS/NAME/TAG LAYER...: the manifest, the config too.
manifest() {
	root=$1
	path=$2
	shift 2
	printf '{"model_format":"gguf"}' >"$tmp/config"
	cfg=$(blob "$root" "$tmp/config")
	layers=$(printf '%s,' "$@")
	mkdir -p "$root/manifests/$(dirname "$path")"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
	    "$cfg" "$(wc -c <"$tmp/config")" "${layers%,}" \
	    >"$root/manifests/$path"
}

printf '{"stop":["<｜begin▁of▁sentence｜>","<｜end▁of▁sentence｜>"],"temperature":0.7,"top_k":23}' >"$tmp/params"
printf 'You are a careful reasoner.' >"$tmp/system"
printf '{{ .System }}{{ .Prompt }}' >"$tmp/template"
ROOT=$OLLAMA_MODELS
gguf=$(blob "$ROOT" "$tmp/m.gguf")
manifest "$ROOT" registry.ollama.ai/library/deepseek-r1/7b \
    "$(layer "$gguf" model "$tmp/m.gguf")" \
    "$(layer "$(blob "$ROOT" "$tmp/template")" template "$tmp/template")" \
    "$(layer "$(blob "$ROOT" "$tmp/system")" system "$tmp/system")" \
    "$(layer "$(blob "$ROOT" "$tmp/params")" params "$tmp/params")"
manifest "$ROOT" registry.ollama.ai/library/deepseek-r1/latest \
    "$(layer "$gguf" model "$tmp/m.gguf")"
manifest "$ROOT" registry.ollama.ai/library/broken/1b \
    '{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:00","size":1}'

# --- names resolved ---------------------------------------------------------

"$R1CHAT" show deepseek-r1:7b >"$tmp/out" 2>"$tmp/err"
ok $? "show NAME: exit 0 $(head -n 1 "$tmp/err")"
grep -q '^    quantization  *Q8_0$' "$tmp/out"
ok $? "show NAME: the blob's model (Q8_0)"
"$R1CHAT" show DeepSeek-R1:7B >"$tmp/out2" 2>&1 &&
    grep -q '^    quantization  *Q8_0$' "$tmp/out2"
ok $? "a name matched case aside, as ollama does (DeepSeek-R1:7B)"
grep -q '^    stop  *"<｜end▁of▁sentence｜>"$' "$tmp/out" &&
    grep -q "^    temperature  *0.7$" "$tmp/out"
ok $? "show NAME: the params layer, a row a value"
sed -n '/^  System$/,$p' "$tmp/out" | grep -q '^    You are a careful reasoner\.$'
ok $? "show NAME: the system layer"
! grep -q '{{ .System }}' "$tmp/out" &&
    "$R1CHAT" show deepseek-r1:7b --verbose | grep -q '^    {{ .System }}{{ .Prompt }}$'
ok $? "show NAME --verbose: the template layer too"
for name in library/deepseek-r1:7b registry.ollama.ai/library/deepseek-r1:7b \
    deepseek-r1 deepseek-r1:latest; do
	"$R1CHAT" show "$name" >"$tmp/o2" 2>&1 &&
	    grep -q '^    quantization  *Q8_0$' "$tmp/o2"
	ok $? "show $name: found (defaults: registry.ollama.ai, library, latest)"
done
"$R1CHAT" tokenize deepseek-r1:7b hello --ids >"$tmp/out" 2>&1 &&
    [ "$(cat "$tmp/out")" = "$("$R1CHAT" tokenize "$tmp/m.gguf" hello --ids)" ]
ok $? "tokenize NAME: the same ids as the file's"
"$R1CHAT" --template deepseek-r1 --temp 0 -n 8 --think-budget 2 \
    deepseek-r1:7b hello >"$tmp/out" 2>"$tmp/err"
ok $? "the chat, one-shot, by name: exit 0 $(tail -n 1 "$tmp/err")"
on_tty "/show system
/show parameters
/bye" "$R1CHAT" deepseek-r1:7b >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 77 ]; then
	grep -q 'You are a careful reasoner\.' "$tmp/out" &&
	    grep -q 'temperature[^a-z]*0\.7[^0-9]' "$tmp/out" &&
	    grep -q 'top_k[^a-z]*23[^0-9]' "$tmp/out"
	ok $? "the chat by name: the system and params layers are its defaults"
fi

# r1chat's own store, same layout, looked up after ollama's
ROOT=$XDG_DATA_HOME/r1chat/models
own=$(blob "$ROOT" "$tmp/m.gguf")
manifest "$ROOT" hf.co/someone/R1-GGUF/Q8_0 "$(layer "$own" model "$tmp/m.gguf")"
manifest "$ROOT" hf.co/someone/R1-GGUF/copy "$(layer "$own" model "$tmp/m.gguf")"
printf 'x' >"$tmp/only"
manifest "$ROOT" registry.ollama.ai/library/mine/1b \
    "$(layer "$(blob "$ROOT" "$tmp/m.gguf")" model "$tmp/m.gguf")" \
    "$(layer "$(blob "$ROOT" "$tmp/only")" system "$tmp/only")"
"$R1CHAT" show hf.co/someone/R1-GGUF:Q8_0 >"$tmp/out" 2>&1 &&
    grep -q '^    quantization  *Q8_0$' "$tmp/out"
ok $? "a name in r1chat's store (\$XDG_DATA_HOME/r1chat/models)"

# --- a path is a path; an unknown name --------------------------------------

"$R1CHAT" show nosuch:7b >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(cat "$tmp/err")" = \
    "r1chat: nosuch:7b: no such model here (r1chat pull nosuch:7b fetches it)" ]
ok $? "an unknown name: one line, exit 1: $(cat "$tmp/err")"
"$R1CHAT" --temp 0 -n 4 nosuch hi >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
    grep -q 'nosuch: no such model here' "$tmp/err"
ok $? "the chat on an unknown name: the same line"
"$R1CHAT" show "$tmp/missing.gguf" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(cat "$tmp/err")" = \
    "r1chat: $tmp/missing.gguf: No such file or directory" ]
ok $? "a missing .gguf path stays a path: $(cat "$tmp/err")"
mkdir "$tmp/cwd"
printf 'not a model' >"$tmp/cwd/deepseek-r1:7b"
(cd "$tmp/cwd" && "$R1CHAT" show deepseek-r1:7b) >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q '^r1chat: deepseek-r1:7b: ' "$tmp/err"
ok $? "a file named like a model is that file, not the model: $(cat "$tmp/err")"
"$R1CHAT" show broken:1b >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q 'no GGUF layer' "$tmp/err"
ok $? "a manifest without a model layer: one line: $(cat "$tmp/err")"

# --- list, rm ---------------------------------------------------------------

"$R1CHAT" list >"$tmp/out" 2>"$tmp/err"
ok $? "list: exit 0"
head -n 1 "$tmp/out" | grep -q '^NAME  *SIZE  *QUANT  *MODIFIED  *STORE$'
ok $? "list: the header"
grep -q '^deepseek-r1:7b  .* Q8_0  .* ollama$' "$tmp/out" &&
    grep -q '^hf.co/someone/R1-GGUF:Q8_0  .* Q8_0  .* r1chat$' "$tmp/out" &&
    grep -q '^mine:1b  .* r1chat$' "$tmp/out" && ! grep -q broken "$tmp/out"
ok $? "list: both stores' models, not the broken one"
[ "$(grep -c . "$tmp/out")" -eq 6 ]
ok $? "list: a line a model"
show "$tmp/out"

"$R1CHAT" rm deepseek-r1:7b >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(cat "$tmp/err")" = "r1chat: rm: deepseek-r1:7b: in ollama's store, which r1chat leaves alone (ollama rm deepseek-r1:7b removes it)" ] &&
    [ -f "$OLLAMA_MODELS/manifests/registry.ollama.ai/library/deepseek-r1/7b" ]
ok $? "rm of ollama's model: refused, one line: $(cat "$tmp/err")"
"$R1CHAT" rm hf.co/someone/R1-GGUF:Q8_0 >"$tmp/out" 2>"$tmp/err"
ok $? "rm of r1chat's model: exit 0 $(cat "$tmp/err")"
[ ! -e "$ROOT/manifests/hf.co/someone/R1-GGUF/Q8_0" ] &&
    [ -f "$ROOT/blobs/sha256-${own#sha256:}" ]
ok $? "rm: the manifest gone, the blob another manifest uses kept"
"$R1CHAT" rm mine:1b hf.co/someone/R1-GGUF:copy >"$tmp/out" 2>"$tmp/err"
ok $? "rm of two models: exit 0"
[ ! -e "$ROOT/blobs/sha256-${own#sha256:}" ] &&
    [ -z "$(ls "$ROOT/blobs")" ] &&
    [ ! -e "$ROOT/manifests/hf.co" ]
ok $? "rm: blobs no manifest uses removed, empty folders too"
"$R1CHAT" rm nosuch:1b >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]
ok $? "rm of an unknown name: one line, exit 1: $(cat "$tmp/err")"

echo "1..$n"
[ "$failed" -eq 0 ]
