#!/bin/sh
# pull.sh - `r1chat pull` against tests/fakehub, a registry on 127.0.0.1
# that speaks ollama's protocol (Docker's registry API v2: the manifest
# with ollama's Accept header, blobs redirected to byte-range storage):
# a pull in parallel ranges, then the model used by name; a pull killed
# with SIGKILL resumes without asking a byte twice; a corrupted blob is
# refused and nothing takes its name; 404, 401, 429 and a disk too small
# are one line each.  Hugging Face's protocol (the tree listing, resolve/)
# through HF_ENDPOINT: a quant, a split model in a folder, a file, a
# repository's offers, HF_TOKEN.

: "${R1CHAT:?R1CHAT not set}"
: "${MKMODEL:?MKMODEL must name tests/mkmodel}"
FAKEHUB=${FAKEHUB:-$(dirname "$R1CHAT")/tests/fakehub}
MKBAD=${MKBAD:-$(dirname "$R1CHAT")/tests/mkbad}
vocab="${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}/vocab/deepseek-r1-qwen.gguf"
[ -f "$vocab" ] || { echo "Bail out! no test data ($vocab)"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-pull.XXXXXX") || exit 99
hub_pid=
pull_pid=
cleanup() {
	[ -n "$pull_pid" ] && kill -9 "$pull_pid" 2>/dev/null
	[ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# only ever the loopback: no proxy in the way
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
NO_PROXY='*'
OLLAMA_MODELS="$tmp/ollama"
XDG_DATA_HOME="$tmp/data"
XDG_CACHE_HOME="$tmp/cache"
HOME="$tmp/home"
OMP_WAIT_POLICY=passive
export NO_PROXY OLLAMA_MODELS XDG_DATA_HOME XDG_CACHE_HOME HOME \
    OMP_WAIT_POLICY

. "${top_srcdir:-.}/tests/tap.sh"

mkqwen2 "$tmp/m.gguf" --type Q8_0

# The hub's files: blobs/sha256-HEX, v2/NS/NAME/manifests/TAG.
HUB="$tmp/hub"
mkdir -p "$HUB/blobs"
blob() {
	h=$(sha256sum "$1" | cut -c1-64)
	cp "$1" "$HUB/blobs/sha256-$h"
	echo "$h"
}
# manifest NS/NAME/TAG LAYERS: a manifest with a config and LAYERS
manifest() {
	mkdir -p "$HUB/v2/$(dirname "$(dirname "$1")")/manifests"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
	    "$cfg" "$(wc -c <"$tmp/config")" "$2" \
	    >"$HUB/v2/$(dirname "$(dirname "$1")")/manifests/$(basename "$1")"
}
printf '{"model_format":"gguf","model_family":"qwen2"}' >"$tmp/config"
printf '{"temperature":0.6}' >"$tmp/params"
cfg=$(blob "$tmp/config")
gguf=$(blob "$tmp/m.gguf")
params=$(blob "$tmp/params")
size=$(wc -c <"$tmp/m.gguf")
layers=$(printf '{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:%s","size":%s},{"mediaType":"application/vnd.ollama.image.params","digest":"sha256:%s","size":%s}' \
    "$gguf" "$size" "$params" "$(wc -c <"$tmp/params")")
manifest library/deepseek-r1/x/7b "$layers"
# a blob whose bytes are not its digest's
cp "$tmp/m.gguf" "$tmp/bad.gguf"
printf 'X' | dd of="$tmp/bad.gguf" bs=1 seek=100000 conv=notrunc 2>/dev/null
bad=$(sha256sum "$tmp/m.gguf" | cut -c1-64 | tr 0-9a-f 1-9a-f0)
cp "$tmp/bad.gguf" "$HUB/blobs/sha256-$bad"
manifest library/corrupt/x/1b "$(printf '{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:%s","size":%s}' "$bad" "$size")"
# a model no disk holds
manifest library/huge/x/1b "$(printf '{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:%s","size":%s}' "$bad" 562949953421312)"

# hub [FAKEHUB OPTIONS]: starts the hub; $url, $hub_pid
hub() {
	rm -f "$tmp/port"
	"$FAKEHUB" -l "$tmp/log" -c "$tmp/count" "$@" "$HUB" >"$tmp/port" &
	hub_pid=$!
	i=0
	while [ ! -s "$tmp/port" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	url="http://127.0.0.1:$(cat "$tmp/port")"
}
# hub_stop: stops the hub; $sent, the body bytes it sent
hub_stop() {
	sleep 0.3
	kill "$hub_pid"
	wait "$hub_pid"
	hub_pid=
	sent=$(cat "$tmp/count")
}
OWN="$XDG_DATA_HOME/r1chat/models"

# --- a pull -------------------------------------------------------------------

hub
"$R1CHAT" pull --registry "$url" deepseek-r1:7b >"$tmp/out" 2>"$tmp/err"
ok $? "pull NAME --registry URL: exit 0 $(tail -n 1 "$tmp/err")"
show "$tmp/err"
[ -f "$OWN/manifests/registry.ollama.ai/library/deepseek-r1/7b" ] &&
    cmp -s "$OWN/blobs/sha256-$gguf" "$tmp/m.gguf" &&
    cmp -s "$OWN/blobs/sha256-$params" "$tmp/params"
ok $? "the manifest and the blobs are in r1chat's store"
[ -z "$(find "$OWN" -name '*partial*')" ]
ok $? "no partial file left"
[ "$(grep -c '^pulling [0-9a-f]\{12\}: .*, sha256 checked$' "$tmp/err")" -eq 3 ] &&
    [ ! -s "$tmp/out" ]
ok $? "not on a terminal: a line a file, on stderr"
grep -q "^GET /v2/library/deepseek-r1/blobs/sha256:$gguf " "$tmp/log" &&
    grep -q "^GET /cdn/sha256-$gguf bytes=" "$tmp/log"
ok $? "blobs asked of the registry, the redirect followed"
[ "$(grep -c "^GET /cdn/sha256-$gguf bytes=" "$tmp/log")" -ge 4 ]
ok $? "the model in several byte ranges"
"$R1CHAT" show deepseek-r1:7b >"$tmp/out" 2>&1 &&
    grep -q '^    quantization  *Q8_0$' "$tmp/out"
ok $? "show NAME on the pulled model"
"$R1CHAT" --template deepseek-r1 --temp 0 -n 8 --think-budget 2 \
    deepseek-r1:7b hello >"$tmp/out" 2>"$tmp/err"
ok $? "the chat on the pulled model, by name"

# A registry that wants a token answers with Docker's challenge (401,
# WWW-Authenticate: Bearer realm=...,service=...,scope=...).
manifest someone/locked/x/1b "$layers"
printf 'opensesame\n' >"$HUB/v2/someone/locked/token"
: >"$tmp/log"
XDG_DATA_HOME="$tmp/data4" "$R1CHAT" pull --registry "$url" someone/locked:1b >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] &&
    grep -q '^GET /token?service=fakehub&scope=repository:someone%2Flocked:pull ' "$tmp/log" &&
    [ "$(grep -c '^GET /v2/someone/locked/manifests/1b ' "$tmp/log")" -eq 2 ] &&
    grep -q "^GET /cdn/sha256-$gguf bytes=" "$tmp/log"
ok $? "a registry's token challenge: the token asked of its realm, then the manifest and blobs with it $(tail -n 1 "$tmp/err")"
: >"$tmp/log"
"$R1CHAT" pull --registry "$url" deepseek-r1:7b >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && ! grep -q '^GET /cdn/' "$tmp/log"
ok $? "a second pull fetches no blob again"

# on a terminal: a progress bar
XDG_DATA_HOME="$tmp/data3"
on_tty "" "$R1CHAT" pull --registry "$url" deepseek-r1:7b >"$tmp/tty" 2>&1
rc=$?
if [ $rc -ne 77 ]; then
	grep -q "pulling $(echo "$gguf" | cut -c1-12): 100% \[#\{25\}\] 3.8 MB/3.8 MB  .*/s" "$tmp/tty"
	ok $? "on a terminal: a progress bar (bytes, rate)"
fi
XDG_DATA_HOME="$tmp/data"

# --- errors: one line each ----------------------------------------------------

for c in "nosuch:1b|no such model in the registry (HTTP 404)" \
    "http-401:1b|unauthorized: the registry wants a login (HTTP 401)" \
    "http-429:1b|too many requests: the registry asks to try again later (HTTP 429)"; do
	name=${c%%|*}
	"$R1CHAT" pull --registry "$url" "$name" >"$tmp/out" 2>"$tmp/err"
	[ $? -eq 1 ] && [ "$(cat "$tmp/err")" = "r1chat: pull: $name: ${c#*|}" ]
	ok $? "pull $name: one line: $(cat "$tmp/err")"
done
: >"$tmp/log"
"$R1CHAT" pull --registry "$url" corrupt:1b >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(grep -c '^r1chat: ' "$tmp/err")" -eq 1 ] &&
    grep -q "^r1chat: pull: corrupt:1b: ${bad%????????????????????????????????????????????????????}: the download does not match its sha256" "$tmp/err"
ok $? "a corrupted blob: one line: $(grep '^r1chat' "$tmp/err")"
[ ! -e "$OWN/blobs/sha256-$bad" ] && [ ! -e "$OWN/blobs/sha256-$bad-partial" ] &&
    [ ! -e "$OWN/manifests/registry.ollama.ai/library/corrupt" ]
ok $? "a corrupted blob: nothing under its name, the bad bytes discarded"
: >"$tmp/log"
"$R1CHAT" pull --registry "$url" huge:1b >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(grep -c . "$tmp/err")" -eq 3 ] &&
    grep -q '^r1chat: pull: huge:1b: needs 563 TB more, the disk has .* free' "$tmp/err" &&
    ! grep -q '/cdn/' "$tmp/log"
ok $? "a disk too small: refused before any byte: $(tail -n 1 "$tmp/err")"
grep -q '^fits: no (in the .* of memory there is); about 0\.0 tokens/s' "$tmp/err"
ok $? "before the download, the fit verdict: $(grep '^fits' "$tmp/err")"
"$R1CHAT" pull --registry "http://127.0.0.1:1" deepseek-r1:7b >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(grep -c . "$tmp/err")" -eq 1 ]
ok $? "no registry there: one line: $(cat "$tmp/err")"

# --- Hugging Face, through HF_ENDPOINT ----------------------------------------

# The repository's files and the listing huggingface.co's tree API gives
# (/api/models/OWNER/REPO/tree/main?recursive=true: type, oid, size, path,
# and lfs {oid: the SHA-256, size, pointerSize} for files in LFS).
REPO="$HUB/hf/someone/R1-GGUF"
mkdir -p "$REPO/files/UD-IQ1_S" "$HUB/hf/someone/private/files"
"$MKBAD" split "$REPO/files/UD-IQ1_S" R1-UD-IQ1_S
mkqwen2 "$REPO/files/R1-Q8_0.gguf" --type Q8_0 --seed 2
cp "$tmp/params" "$REPO/files/R1-Q4_K_M.gguf"
cp "$tmp/config" "$REPO/files/mmproj-R1-F16.gguf"
printf '# R1\n' >"$REPO/files/README.md"
# tree DIR: tree.json of DIR/files
tree() {
	(cd "$1/files" && find . -type f | sed 's|^\./||' | sort) | {
		sep=
		printf '['
		while read -r f; do
			sz=$(wc -c <"$1/files/$f")
			case $f in
			*.gguf) printf '%s{"type":"file","oid":"0","size":%s,"path":"%s","lfs":{"oid":"%s","size":%s,"pointerSize":134}}' \
			    "$sep" "$sz" "$f" "$(sha256sum "$1/files/$f" | cut -c1-64)" "$sz" ;;
			*) printf '%s{"type":"file","oid":"0","size":%s,"path":"%s"}' \
			    "$sep" "$sz" "$f" ;;
			esac
			sep=,
		done
		printf ',{"type":"directory","oid":"0","size":0,"path":"UD-IQ1_S"}]'
	} >"$1/tree.json"
}
tree "$REPO"
cp "$tmp/m.gguf" "$HUB/hf/someone/private/files/P-Q8_0.gguf"
tree "$HUB/hf/someone/private"
printf 'sesame\n' >"$HUB/hf/someone/private/token"

: >"$tmp/log"
HF_ENDPOINT="$url" "$R1CHAT" pull hf.co/someone/R1-GGUF:q8_0 >"$tmp/out" 2>"$tmp/err"
ok $? "pull hf.co/OWNER/REPO:QUANT (HF_ENDPOINT): exit 0 $(tail -n 1 "$tmp/err")"
show "$tmp/err"
grep -q '^GET /api/models/someone/R1-GGUF/tree/main?recursive=true ' "$tmp/log" &&
    grep -q '^GET /someone/R1-GGUF/resolve/main/R1-Q8_0.gguf bytes=' "$tmp/log" &&
    grep -q '^GET /cdn-hf/someone/R1-GGUF/files/R1-Q8_0.gguf bytes=' "$tmp/log"
ok $? "the listing and the file asked of HF_ENDPOINT, the redirect followed"
"$R1CHAT" show hf.co/someone/R1-GGUF:q8_0 >"$tmp/out" 2>&1 &&
    grep -q '^    quantization  *Q8_0$' "$tmp/out"
ok $? "the quant matched case aside; show by the name pulled"
HF_ENDPOINT="$url" "$R1CHAT" pull hf.co/someone/R1-GGUF:UD-IQ1_S >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && [ "$(grep -c 'R1-UD-IQ1_S-0000[123]-of-00003.gguf: .*sha256 checked' "$tmp/err")" -eq 3 ]
ok $? "a split model in a folder: its three shards $(tail -n 1 "$tmp/err")"
"$R1CHAT" show hf.co/someone/R1-GGUF:UD-IQ1_S >"$tmp/out" 2>&1 &&
    grep -q '^    parameters  *48$' "$tmp/out"
ok $? "the split model opens by name, every shard: $(grep parameters "$tmp/out")"
: >"$tmp/log"
HF_ENDPOINT="$url" "$R1CHAT" pull \
    hf.co/someone/R1-GGUF/UD-IQ1_S/R1-UD-IQ1_S-00002-of-00003.gguf >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && ! grep -q cdn-hf "$tmp/log" &&
    "$R1CHAT" show hf.co/someone/R1-GGUF/UD-IQ1_S/R1-UD-IQ1_S-00001-of-00003.gguf >/dev/null 2>&1
ok $? "hf.co/OWNER/REPO/FILE.gguf: a shard names its model, nothing fetched twice"
HF_ENDPOINT="$url" "$R1CHAT" pull hf.co/someone/R1-GGUF >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && [ "$(grep -c . "$tmp/out")" -eq 4 ] &&
    grep -q '^FILE  *SIZE  *SHARDS  *FITS  *TOKENS/S$' "$tmp/out" &&
    grep -q '^UD-IQ1_S/R1-UD-IQ1_S  .*  3  *yes  *[0-9.]*$' "$tmp/out" &&
    grep -q '^R1-Q8_0  .*3.8 MB  .*  1  *yes  *[0-9.]*$' "$tmp/out" &&
    ! grep -q mmproj "$tmp/out"
ok $? "a repository without a quant: the models it offers (size, fits, t/s), no download"
show "$tmp/out"
HF_ENDPOINT="$url" "$R1CHAT" pull hf.co/someone/R1-GGUF:Q5_K_M >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(cat "$tmp/err")" = "r1chat: pull: hf.co/someone/R1-GGUF:Q5_K_M: no GGUF file has that quant in the repository" ]
ok $? "a quant the repository lacks: one line: $(cat "$tmp/err")"
HF_ENDPOINT="$url" "$R1CHAT" pull hf.co/someone/R1-GGUF:R1 >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(grep -c . "$tmp/err")" -eq 1 ] && grep -q '3 models match' "$tmp/err"
ok $? "several models match: one line: $(cat "$tmp/err")"
HF_ENDPOINT="$url" "$R1CHAT" pull hf.co/someone/private:Q8_0 >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(cat "$tmp/err")" = "r1chat: pull: hf.co/someone/private:Q8_0: unauthorized: the registry wants a login (HTTP 401)" ]
ok $? "a private repository without HF_TOKEN: one line"
HF_ENDPOINT="$url" HF_TOKEN=sesame "$R1CHAT" pull hf.co/someone/private:Q8_0 \
    >"$tmp/out" 2>"$tmp/err"
ok $? "HF_TOKEN sent as a bearer token: $(tail -n 1 "$tmp/err")"
"$R1CHAT" rm hf.co/someone/R1-GGUF:UD-IQ1_S hf.co/someone/R1-GGUF:R1-UD-IQ1_S >"$tmp/out" 2>"$tmp/err" &&
    [ -z "$(ls "$OWN/shards")" ]
ok $? "rm of a split model: its shards' links go with its blobs"

# On first use of a name not here: the full-screen chat asks, as ollama
# run does; no question in one-shot mode.
mkdir -p "$HUB/hf/someone/small/files"
cp "$tmp/m.gguf" "$HUB/hf/someone/small/files/S-Q8_0.gguf"
tree "$HUB/hf/someone/small"
HF_ENDPOINT="$url" "$R1CHAT" hf.co/someone/small:Q8_0 hello </dev/null >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(cat "$tmp/err")" = "r1chat: hf.co/someone/small:Q8_0: no such model here (r1chat pull hf.co/someone/small:Q8_0 fetches it)" ]
ok $? "one-shot with a name not here: one line, no question"
# (on_tty's status is its pipe's: the exit status is written after)
status_sh='"$0" "$@"; echo "exit status $?"'
HF_ENDPOINT="$url" on_tty "n" sh -c "$status_sh" "$R1CHAT" \
    hf.co/someone/small:Q8_0 >"$tmp/tty" 2>&1
if [ $? -ne 77 ]; then
	grep -q '^pull hf\.co/someone/small:Q8_0 now? \[y/N\]' "$tmp/tty" &&
	    grep -q 'exit status 1$' "$tmp/tty" &&
	    ! "$R1CHAT" show hf.co/someone/small:Q8_0 >/dev/null 2>&1
	ok $? "the chat with a name not here asks; no: exit 1, nothing pulled"
	HF_ENDPOINT="$url" on_tty "y
/bye" sh -c "$status_sh" "$R1CHAT" --template deepseek-r1 \
	    hf.co/someone/small:Q8_0 >"$tmp/tty" 2>&1
	grep -q '^success: hf\.co/someone/small:Q8_0' "$tmp/tty" &&
	    grep -q 'Send a message' "$tmp/tty" &&
	    grep -q 'exit status 0$' "$tmp/tty" &&
	    "$R1CHAT" show hf.co/someone/small:Q8_0 >/dev/null 2>&1
	ok $? "yes: pulled, then the chat on it"
fi

# --- ModelScope, through MODELSCOPE_ENDPOINT ----------------------------------

# The listing modelscope.cn's API gives (/api/v1/models/OWNER/REPO/repo/
# files?Revision=master&Recursive=true: {"Code": 200, "Data": {"Files":
# [{Name, Path, Type "blob" or "tree", Size, Sha256}]}}), over a split model
# in a folder whose name has a space (the FilePath asked is %-escaped).
MSREPO="$HUB/ms/someone/R1-GGUF"
mkdir -p "$MSREPO/files/UD IQ1_S"
"$MKBAD" split "$MSREPO/files/UD IQ1_S" R1-UD-IQ1_S
(cd "$MSREPO/files" && find . -type f | sed 's|^\./||' | sort) | {
	printf '{"Code":200,"Data":{"Files":['
	printf '{"Name":"UD IQ1_S","Path":"UD IQ1_S","Type":"tree","Size":0,"Sha256":""}'
	while read -r f; do
		printf ',{"Name":"%s","Path":"%s","Type":"blob","Size":%s,"Sha256":"%s","Revision":"0"}' \
		    "${f##*/}" "$f" "$(wc -c <"$MSREPO/files/$f")" \
		    "$(sha256sum "$MSREPO/files/$f" | cut -c1-64)"
	done
	printf ']},"Message":"success","Success":true}'
} >"$MSREPO/files.json"
: >"$tmp/log"
MODELSCOPE_ENDPOINT="$url" "$R1CHAT" pull ms.co/someone/R1-GGUF:ud-iq1_s >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && [ "$(grep -c 'R1-UD-IQ1_S-0000[123]-of-00003.gguf: .*sha256 checked' "$tmp/err")" -eq 3 ]
ok $? "pull ms.co/OWNER/REPO:QUANT (MODELSCOPE_ENDPOINT): a split model's three shards $(tail -n 1 "$tmp/err")"
grep -q '^GET /api/v1/models/someone/R1-GGUF/repo/files?Revision=master&Recursive=true ' "$tmp/log" &&
    grep -q '^GET /api/v1/models/someone/R1-GGUF/repo?Revision=master&FilePath=UD%20IQ1_S%2FR1-UD-IQ1_S-00003-of-00003\.gguf bytes=' "$tmp/log"
ok $? "ModelScope's listing and files asked as its API has them, the path escaped"
"$R1CHAT" show modelscope.cn/someone/R1-GGUF:ud-iq1_s >"$tmp/out" 2>&1 &&
    grep -q '^    parameters  *48$' "$tmp/out" &&
    "$R1CHAT" list >"$tmp/out" 2>&1 &&
    grep -q '^modelscope\.cn/someone/R1-GGUF:ud-iq1_s ' "$tmp/out"
ok $? "modelscope.cn/ is ms.co/: show and list by the name pulled"
MODELSCOPE_ENDPOINT="$url" "$R1CHAT" pull ms.co/someone/none:Q8_0 >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && [ "$(grep -c . "$tmp/err")" -eq 1 ] && grep -q 'HTTP 404' "$tmp/err"
ok $? "an unknown ModelScope repository: one line: $(cat "$tmp/err")"
hub_stop

# --- killed, then resumed -----------------------------------------------------

XDG_DATA_HOME="$tmp/data2"
OWN="$XDG_DATA_HOME/r1chat/models"
hub -r 400000
"$R1CHAT" pull --registry "$url" deepseek-r1:7b >"$tmp/out" 2>"$tmp/err" &
pull_pid=$!
i=0
part="$OWN/blobs/sha256-$gguf-partial"
while [ $i -lt 100 ]; do
	[ -f "$part" ] && [ "$(du -k "$part" | cut -f1)" -ge 600 ] && break
	sleep 0.05
	i=$((i + 1))
done
kill -9 "$pull_pid"
wait "$pull_pid" 2>/dev/null
pull_pid=
got=$(du -k "$part" 2>/dev/null | cut -f1)
[ "${got:-0}" -ge 600 ] && [ "${got:-0}" -lt $((size / 1024)) ] &&
    [ ! -e "$OWN/blobs/sha256-$gguf" ] &&
    [ ! -e "$OWN/manifests/registry.ollama.ai/library/deepseek-r1/7b" ]
ok $? "killed mid-pull (${got:-0} KB of $((size / 1024))): no blob, no manifest under its name"
hub_stop
first=$sent
hub
"$R1CHAT" pull --registry "$url" --connections 2 deepseek-r1:7b \
    >"$tmp/out" 2>"$tmp/err"
ok $? "the pull again: exit 0 $(tail -n 1 "$tmp/err")"
cmp -s "$OWN/blobs/sha256-$gguf" "$tmp/m.gguf" &&
    [ -z "$(find "$OWN" -name '*partial*')" ]
ok $? "the resumed blob is the model, no partial file left"
hub_stop
files=$(( $(wc -c <"$tmp/config") + size + $(wc -c <"$tmp/params") ))
mf=$(wc -c <"$HUB/v2/library/deepseek-r1/manifests/7b")
[ $((first + sent)) -le $((files + 2 * mf + 1048576)) ] && [ "$sent" -lt "$files" ]
ok $? "sent $first + $sent bytes in all for $files of files (+ two manifests of $mf, and one range of 1 MiB at most)"

echo "1..$n"
[ "$failed" -eq 0 ]
