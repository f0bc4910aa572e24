#!/bin/sh
# tui.sh - the full-screen chat, driven in tmux on the demo model (and,
# for the answers stopped midway, mkmodel's --endless model): both
# panes with text, the status line, /set, /show, """, wide characters,
# Ctrl-C during an answer and at the prompt, a resize, /bye and Ctrl-D,
# SIGTERM and SIGHUP at the prompt and mid-answer, the session kept after
# each turn (--resume after SIGKILL mid-answer, pruning, --no-history),
# /save on a full disk or killed mid-write, the model truncated (SIGBUS),
# and after each exit the terminal as it was (stty -a).
#
# Every wait polls the screen with a deadline; nothing sleeps blindly.

: "${R1CHAT:?R1CHAT must name the r1chat binary}"

# Characters, not bytes, in the patterns (the separators are U+2500).
LC_ALL=C.UTF-8
export LC_ALL

if ! command -v tmux >/dev/null 2>&1; then
	echo "1..0 # SKIP tmux is not installed"
	exit 0	# the TAP driver reads the skip from the plan
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/r1chat-tui.XXXXXX") || exit 1
sock="$tmp/tmux.sock"
tm() { tmux -S "$sock" -f /dev/null "$@"; }
cleanup() { tm kill-server >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

. "${top_srcdir:-.}/tests/tap.sh"
vocab="${R1CHAT_TESTDATA:-${top_srcdir:-.}/tests/data}/vocab/deepseek-r1-qwen.gguf"

# tap.sh's ok, and the screen at a failure.
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		echo "# screen at the failure:"
		screen | sed 's/^/#   /'
	fi
}

screen() { tm capture-pane -p -t t 2>/dev/null; }

# wait_for REGEX [SECONDS]: polls the screen until a line matches.
wait_for() {
	deadline=$(( $(date +%s) + ${2:-20} ))
	while [ "$(date +%s)" -le "$deadline" ]; do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# wait_file FILE [SECONDS]: polls until FILE exists.
wait_file() {
	deadline=$(( $(date +%s) + ${2:-20} ))
	while [ "$(date +%s)" -le "$deadline" ]; do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# The status line at rest.
idle='^ idle \| ctx [0-9]+/[0-9]+ \| [0-9]+\.[0-9] tok/s \|'

# start NAME ARGS...: runs r1chat in a new session; stty -a is recorded
# before it starts and after it ends, its exit status in NAME.rc.
start() {
	name=$1
	shift
	tm kill-session -t t >/dev/null 2>&1
	# The shell survives Ctrl-C and Ctrl-\ (traps, reset in its child),
	# and the child writes its pid before it becomes r1chat.
	cat >"$tmp/$name.sh" <<EOF
trap : INT QUIT
ulimit -c 0
stty -a >"$tmp/$name.before"
sh -c 'echo \$\$ >"$tmp/$name.pid"; exec "\$0" "\$@"' "$R1CHAT" "\$@"
echo \$? >"$tmp/$name.rc"
stty -a >"$tmp/$name.after"
exec sleep 600
EOF
	tm new-session -d -s t -x 100 -y 30 \
	    "env LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_CACHE_HOME='$tmp/cache' \
	    XDG_STATE_HOME='$tmp/state' $start_env sh '$tmp/$name.sh' $*"
}
start_env=

# ended NAME STATUS: the run ended with STATUS and the terminal is back.
ended() {
	wait_file "$tmp/$1.after" 20
	ok $? "$1: r1chat exited"
	[ "$(cat "$tmp/$1.rc" 2>/dev/null)" = "$2" ]
	ok $? "$1: exit status $2 (got $(cat "$tmp/$1.rc" 2>/dev/null))"
	cmp -s "$tmp/$1.before" "$tmp/$1.after"
	ok $? "$1: stty -a unchanged after the exit"
	if ! cmp -s "$tmp/$1.before" "$tmp/$1.after"; then
		diff "$tmp/$1.before" "$tmp/$1.after" | sed 's/^/# /'
	fi
}

# A session that outlives the others keeps the server up between them.
tm new-session -d -s keep "sleep 3600"

# --- a conversation --------------------------------------------------------

start main --demo
wait_for 'Send a message \(/\? for help\)' 60
ok $? "the prompt and its placeholder are shown"
wait_for "^This is r1chat's demo model" 1
ok $? "the demo greets, saying what it can do"
wait_for "$idle r1chat demo\$" 1
ok $? "the status line: model, context, tokens/s, idle"

tm send-keys -t t 'Add 12 and 30.' Enter
wait_for '^>>> Add 12 and 30\.' 10
ok $? "the message is echoed in the answer pane"
wait_for "$idle" 60
ok $? "the answer ends and the status is idle again"
scr=$(screen)
think=$(printf '%s\n' "$scr" | sed -n '/── reasoning/,/── answer/p' |
    sed '1d;$d' | grep -c '[^ ]')
[ "$think" -ge 1 ]
ok $? "the reasoning pane holds text ($think lines)"
answer=$(printf '%s\n' "$scr" | sed -n '/^>>> Add 12 and 30\./,/^ [a-z]* | ctx /p' |
    sed '1d;$d' | grep -c '[^ ]')
[ "$answer" -ge 1 ]
ok $? "the answer pane holds text after the question ($answer lines)"
printf '%s\n' "$scr" | grep -Eq "ctx [1-9][0-9]*/[0-9]+ \| [0-9]+\.[0-9] tok/s"
ok $? "the status line counts the context used and the rate"

tm send-keys -t t '/set parameter temperature 0.25' Enter
wait_for "Set parameter 'temperature' to '0.25'" 5
ok $? "/set parameter temperature"
tm send-keys -t t '/show parameters' Enter
wait_for '^temperature +0\.25$' 5
ok $? "/show parameters shows the new temperature"
wait_for '^think_budget +-?[0-9]+$' 1
ok $? "/show parameters lists think_budget too"
tm send-keys -t t '/set parameter top_k many' Enter
wait_for "Couldn't set parameter 'top_k'" 5
ok $? "/set parameter refuses a bad value"
tm send-keys -t t '/show info' Enter
wait_for '^ +architecture +qwen2$' 5
ok $? "/show info: architecture"
wait_for '^ +template +deepseek-r1$' 1
ok $? "/show info: template"
# The answer pane scrolls by pages and comes back to the end.
tm send-keys -t t PPage
wait_for '^── answer \(scrolled\) ─+$' 5 && wait_for "$idle" 1
ok $? "PgUp scrolls the answer pane back"
tm send-keys -t t NPage NPage NPage
wait_for '^── answer ─+$' 5 && wait_for '^    embedding length' 1
ok $? "PgDn scrolls it forward to the end"

tm send-keys -t t '/nonsense' Enter
wait_for "Unknown command '/nonsense'. Type /\? for help" 5
ok $? "an unknown command is named"
tm send-keys -t t '/set system You are terse.' Enter
wait_for '^Set system message\.$' 5
ok $? "/set system"
tm send-keys -t t '/show system' Enter
wait_for '^You are terse\.$' 5
ok $? "/show system"

tm send-keys -t t '/set hidethinking' Enter
wait_for "Set 'hidethinking' mode." 5 &&
    ! screen | grep -q '── reasoning'
ok $? "/set hidethinking hides the reasoning pane"
wait_for '\| reasoning hidden \|' 1
ok $? "the status line says the reasoning is hidden"
tm send-keys -t t '/set showthinking' Enter
wait_for '── reasoning' 5
ok $? "/set showthinking shows it again"

# --verbose's summary goes below the answer.
tm send-keys -t t '/set verbose' Enter
wait_for "Set 'verbose' mode." 5
tm send-keys -t t 'once more' Enter
wait_for '^eval rate: +[0-9]+\.[0-9]{2} tokens/s$' 60 &&
    wait_for '^total duration: +[0-9]' 1 && wait_for "$idle" 10
ok $? "/set verbose: the summary below the answer"
tm send-keys -t t '/set quiet' Enter
wait_for "Set 'quiet' mode." 5
ok $? "/set quiet"

# """: one message over several lines.
tm send-keys -t t '"""first line' Enter
wait_for '^\.\.\.( |$)' 5
ok $? '""" asks for more with the continuation prompt'
tm send-keys -t t 'second line"""' Enter
wait_for '^\.\.\. second line"""' 5 && wait_for "$idle" 60
ok $? '""" closes the message and it is answered'
tm send-keys -t t '/set parameter num_ctx 3000' Enter
wait_for '^ idle \| ctx [1-9][0-9]*/3000 \|' 5
ok $? "/set parameter num_ctx: the status line shows the new size"
tm send-keys -t t "/save $tmp/conv.json" Enter
wait_for "Saved the conversation to" 5
ok $? "/save"
grep -q '"content": "first line\\nsecond line"' "$tmp/conv.json"
ok $? '/save holds the """ message as one message of two lines'
grep -q '"system": "You are terse."' "$tmp/conv.json"
ok $? "/save holds the system prompt"

tm send-keys -t t '/clear' Enter
wait_for '^Cleared session context$' 5 && ! screen | grep -q '^>>> Add 12'
ok $? "/clear empties the panes"
wait_for '^ idle \| ctx 0/3000 \| 0\.0 tok/s \|' 1
ok $? "/clear: the status line counts no context used and no rate"
tm send-keys -t t '/set parameter num_ctx 1024' Enter
wait_for '^ idle \| ctx 0/1024 \|' 5
ok $? "/set parameter num_ctx 1024: the status line says so"
tm send-keys -t t "/load $tmp/conv.json" Enter
wait_for 'Loaded the conversation from' 5 && wait_for '^>>> first line$' 1
ok $? "/load shows the saved conversation again"
wait_for '^ idle \| ctx [1-9][0-9]*/3000 \| 0\.0 tok/s \|' 1
ok $? "/load: the status line counts the loaded conversation, in its size"
# The loaded system prompt replaced by a longer one: the count grows by
# the difference of their tokens (tokenize's ids, less the BOS).
ids() { "$R1CHAT" tokenize "${top_srcdir:-.}/share/r1chat-demo.gguf" --ids "$1" | tr -cd , | wc -c; }
grow=$(( $(ids 'You are a careful assistant who checks every sum twice.') - $(ids 'You are terse.') ))
before=$(screen | sed -n 's/^ idle | ctx \([0-9]*\)\/3000 |.*/\1/p')
tm send-keys -t t '/set system You are a careful assistant who checks every sum twice.' Enter
wait_for "^ idle \| ctx $((before + grow))/3000 \|" 5
ok $? "/set system: the status line counts the conversation with it ($before, then $before + $grow)"

# Wide characters take two columns: 12 of them wrap after 10 in 20 columns.
tm resize-window -t t -x 20 -y 30
wait_for '^── answer ─+$' 10
tm send-keys -t t '/set system 一二三四五六七八九十甲乙' Enter
tm send-keys -t t '/show system' Enter
wait_for '^一二三四五六七八九十$' 5 && wait_for '^甲乙$' 1
ok $? "CJK characters are two columns wide (wrapped at 20 columns)"
tm send-keys -t t '/set system 😀😀😀😀😀😀😀😀😀😀😀' Enter
tm send-keys -t t '/show system' Enter
wait_for '^😀😀😀😀😀😀😀😀😀😀$' 5
ok $? "emoji are two columns wide"

# A resize reflows: the separators span the new width.
tm resize-window -t t -x 64 -y 24
wait_for '^── answer ─{54}$' 10
ok $? "a resize reflows the panes to the new width"
wait_for "$idle" 1
ok $? "the status line is still there after the resize"

# Back to the size stty -a saw at the start, then leave.
tm resize-window -t t -x 100 -y 30
wait_for '^── answer ─{90}' 10
tm send-keys -t t '/bye' Enter
ended main 0
grep -q '^Add 12 and 30\.$' "$tmp/state/r1chat/history"
ok $? "the input history is kept in \$XDG_STATE_HOME/r1chat/history"

# --- Ctrl-C during an answer, and at the prompt --------------------------------

# The answers stopped midway come from a model that never ends a turn by
# itself (mkmodel --endless: greedy decoding cannot pick an end token), so
# the answer is under way whatever the kernels of this CPU make of it.
endless="$tmp/endless.gguf"
mkqwen2 "$endless" --endless --ctx 32768
long="--template deepseek-r1 --temp 0 -c 32768"
long_way='^ (thinking|answering) \| ctx [0-9]{4,}/32768 \|'

start long "$endless" $long -n 30000
wait_for 'Send a message' 30
tm send-keys -t t 'go on' Enter
wait_for "$long_way" 20
ok $? "a long answer is under way"
tm send-keys -t t C-c
wait_for "$idle" 10
ok $? "Ctrl-C stops the answer and returns to the prompt"
screen | sed -n '/── reasoning/,/── answer/p' | sed '1d;$d' | grep -q '[^ ]'
ok $? "the text generated before Ctrl-C stays on the screen"
tm send-keys -t t "/save $tmp/stopped.json" Enter
wait_for "Saved the conversation to '$tmp/stopped.json'" 5
tail -n 8 "$tmp/stopped.json" | grep -q '"role": "assistant"' &&
    tail -n 8 "$tmp/stopped.json" | grep -Eq '"content": ".+'
ok $? "the text generated before Ctrl-C is kept in the conversation"
# A thousand tokens of reasoning overflow its pane.
tm send-keys -t t S-PPage
wait_for '^── reasoning \(scrolled\) ─+$' 5
ok $? "Shift+PgUp scrolls the reasoning pane"
tm send-keys -t t S-NPage
wait_for '^── reasoning ─+$' 5
ok $? "Shift+PgDn brings it back"
tm send-keys -t t C-c
wait_for '^Use Ctrl \+ d or /bye to exit\.$' 5
ok $? "Ctrl-C at an empty prompt says how to leave"
tm send-keys -t t 'some words' C-c
wait_for 'Send a message' 5
ok $? "Ctrl-C drops a line being typed"
tm send-keys -t t '/bye' Enter
ended long 0

# --- Ctrl-D, and history recalled --------------------------------------------

# (-t past the processors: its warning shown in the pane, not lost
# behind the full screen)
start eof --demo --hidethinking -t 64
wait_for 'Send a message' 30
wait_for '^warning: --threads: 64: more than the [0-9]* processors$' 1
ok $? "an option's warning is shown in the full-screen chat"
! screen | grep -q '── reasoning'
ok $? "--hidethinking starts without the reasoning pane"
tm send-keys -t t Up
wait_for '^>>> /bye' 5
ok $? "Up recalls the last line from the saved history"
tm send-keys -t t C-u "/load $tmp/conv.json" Enter
wait_for '^ idle \| ctx [1-9][0-9]*/3000 \|' 5
ok $? "/load first thing: the status line counts the loaded conversation"
tm send-keys -t t C-d
ended eof 0

# --- one-shot from a terminal: a hint, not a silent wait -----------------------

start hint --demo --no-tui --nothink -n 4
wait_for '^r1chat: reading the message from the terminal: end it with Ctrl-D' 30
ok $? "one-shot with no message and stdin a terminal: says how to end it"
tm send-keys -t t 'hello' Enter C-d
ended hint 0

# --- the conversation kept: SIGKILL mid-answer, --resume, SIGHUP -----------------

# Sessions of long ago: a new one leaves the newest 50.
sessions="$tmp/state/r1chat/sessions"
i=0
while [ $i -lt 60 ]; do
	touch -t 202001010000 "$sessions/old-$i.json"
	i=$((i + 1))
done
touch -t 202001010000 "$sessions/killed.json.AbC123"
touch "$sessions/saving.json.XyZ789"
# Turns of 16 tokens, then one that runs until it is stopped.
start keep "$endless" $long -n 16
wait_for 'Send a message' 30
tm send-keys -t t 'Add 12 and 30.' Enter
wait_for '^>>> Add 12 and 30\.' 10 && wait_for "$idle" 60
tm send-keys -t t 'What is 5 + 7?' Enter
wait_for '^>>> What is 5 \+ 7\?' 10 && wait_for "$idle" 60
ok $? "two turns answered"
[ "$(ls "$sessions" | grep -c '\.json$')" -eq 50 ] && [ ! -e "$sessions/old-0.json" ]
ok $? "a new session leaves the newest 50 ($(ls "$sessions" | grep -c '\.json$'))"
[ ! -e "$sessions/killed.json.AbC123" ] && [ -e "$sessions/saving.json.XyZ789" ]
ok $? "a save killed midway: its temporary file removed once a minute old, not before"
rm -f "$sessions/saving.json.XyZ789"
tm send-keys -t t '/set parameter num_predict 30000' Enter
wait_for "Set parameter 'num_predict' to '30000'" 5
tm send-keys -t t 'go on' Enter
wait_for "$long_way" 20
ok $? "a long answer is under way"
kill -KILL "$(cat "$tmp/keep.pid")"
wait_file "$tmp/keep.rc" 10
ok $? "SIGKILL ends it"

start resumed --resume $long -n 30000
wait_for 'Send a message' 30 && wait_for '^>>> Add 12 and 30\.$' 1 &&
    wait_for '^>>> What is 5 \+ 7\?$' 1 &&
    ! screen | grep -q '^>>> go on$'
ok $? "--resume after SIGKILL mid-answer: every completed turn is back"
session=$(ls -t "$sessions"/*.json | head -n 1)
[ "$(grep -c '"role"' "$session")" -eq 4 ]
ok $? "the session file holds the two turns, whole"
tm send-keys -t t 'go on' Enter
wait_for "$long_way" 20
kill -HUP "$(cat "$tmp/resumed.pid")"
ended resumed 129
[ "$(grep -c '"role"' "$session")" -eq 6 ] &&
    grep -q '"content": "go on"' "$session"
ok $? "SIGHUP mid-answer: the turn stopped and kept in the same session"
XDG_STATE_HOME="$tmp/state" "$R1CHAT" --resume "$session" -n 4 'one more' </dev/null \
    >"$tmp/oneshot.out" 2>"$tmp/oneshot.err" &&
    [ "$(grep -c '"role"' "$session")" -eq 8 ] &&
    grep -q '"content": "one more"' "$session"
ok $? "one-shot --resume: the turn added to the session kept"

# --no-history: no session, no line in the input history
ls "$sessions" >"$tmp/sessions.before"
start nohist --demo --no-history
wait_for 'Send a message' 30
tm send-keys -t t 'Add 3 and 4.' Enter
wait_for '^>>> Add 3 and 4\.' 10 && wait_for "$idle" 60
tm send-keys -t t '/bye' Enter
ended nohist 0
ls "$sessions" | cmp -s - "$tmp/sessions.before" &&
    ! grep -q '^Add 3 and 4\.$' "$tmp/state/r1chat/history"
ok $? "--no-history keeps neither the conversation nor the line"

# --- /save on a full disk and killed mid-write; the model truncated (SIGBUS) ---

# tests/faultshim.so fails the writes to the files named kept.json*.
shim() {
	start_env="LD_PRELOAD='$FAULTSHIM' R1CHAT_FAULT=$1 \
	    R1CHAT_FAULT_PATH=kept.json ASAN_OPTIONS=verify_asan_link_order=0"
}
cp "$tmp/conv.json" "$tmp/kept.json"
if [ -n "${FAULTSHIM:-}" ] && [ -w /dev/full ]; then
	shim full
	start full --demo
	start_env=
	wait_for 'Send a message' 30
	tm send-keys -t t "/save $tmp/kept.json" Enter
	wait_for "^r1chat: /save: $tmp/kept.json: No space left on device\$" 5
	ok $? "/save on a full disk: one line"
	cmp -s "$tmp/kept.json" "$tmp/conv.json" &&
	    [ -z "$(ls "$tmp" | grep '^kept\.json\.')" ]
	ok $? "/save on a full disk: the old file intact, no temporary file"
	tm send-keys -t t '/bye' Enter
	ended full 0
	shim kill
	start killsave --demo
	start_env=
	wait_for 'Send a message' 30
	tm send-keys -t t 'Add 12 and 30.' Enter
	wait_for "$idle" 60
	tm send-keys -t t "/save $tmp/kept.json" Enter
	wait_file "$tmp/killsave.rc" 10
	[ "$(cat "$tmp/killsave.rc")" = 137 ]
	ok $? "SIGKILL in the middle of /save's write"
	cmp -s "$tmp/kept.json" "$tmp/conv.json"
	ok $? "SIGKILL during /save: the previous file whole"
else
	for t in "/save on a full disk" "SIGKILL during /save"; do
		n=$((n + 1))
		echo "ok $n # SKIP $t (no FAULTSHIM or /dev/full)"
	done
fi

cp "$endless" "$tmp/cut.gguf"
start bus "$tmp/cut.gguf" $long -n 30000
wait_for 'Send a message' 30
tm send-keys -t t 'go on' Enter
wait_for "$long_way" 20
: >"$tmp/cut.gguf"
ended bus 1
wait_for "^r1chat: $tmp/cut\.gguf: the file was truncated while in use\$" 5
ok $? "the model truncated mid-answer: one line naming it, no crash"

# --- a fatal signal, SIGTERM at the prompt and mid-answer ------------------------

start sig --demo
wait_for 'Send a message' 30
kill -TERM "$(cat "$tmp/sig.pid")"
ended sig 143
# SIGQUIT from the keyboard (Ctrl-\): the terminal back, then its death.
start quit --demo
wait_for 'Send a message' 30
tm send-keys -t t 'C-\'
ended quit 131
start term "$endless" $long -n 16
wait_for 'Send a message' 30
tm send-keys -t t 'Add 12 and 30.' Enter
wait_for "$idle" 60
tm send-keys -t t '/set parameter num_predict 30000' Enter
wait_for "Set parameter 'num_predict' to '30000'" 5
tm send-keys -t t 'go on' Enter
wait_for "$long_way" 20
kill -TERM "$(cat "$tmp/term.pid")"
ended term 143
session=$(ls -t "$sessions"/*.json | head -n 1)
[ "$(grep -c '"role"' "$session")" -eq 4 ] &&
    grep -q '"content": "go on"' "$session"
ok $? "SIGTERM mid-answer: the turn stopped and kept in the session"

echo "1..$n"
[ "$failed" -eq 0 ]
