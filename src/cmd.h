/*
 * cmd.h - the subcommands.  Each takes the parsed options, prints its
 * errors as "r1chat: WHAT: WHY" and returns the exit status.
 */
#ifndef R1_CMD_H
#define R1_CMD_H

#include <stddef.h>
#include <stdint.h>

struct options;

/*
 * The commands as bits: options.c's and params.c's rows say which take
 * each option, and --help lists a command's by them.
 */
#define CMD_CHAT	0x01	/* no command: the chat, --demo, --remote */
#define CMD_RAW		0x02	/* --raw */
#define CMD_SERVE	0x04
#define CMD_SHOW	0x08
#define CMD_TOKENIZE	0x10
#define CMD_PERPLEXITY	0x20
#define CMD_BENCH	0x40
#define CMD_QUANTIZE	0x80
#define CMD_LIST	0x100
#define CMD_RM		0x200
#define CMD_PULL	0x400
#define CMD_ALL		0x7ff

/* Says on stderr which kernels run (--verbose): "r1chat: kernels: ...". */
void cmd_kernels_say(void);

int cmd_show(struct options *o);
int cmd_quantize(struct options *o);
int cmd_tokenize(struct options *o);

/* The stores (cmd-store.c): `list`, `rm NAME...`. */
int cmd_list(struct options *o);
int cmd_rm(struct options *o);

/* `pull NAME`: a model fetched into r1chat's store (cmd-pull.c). */
int cmd_pull(struct options *o);

/*
 * The model o->model names, not here (cause says so): asks on the
 * terminal whether to pull it, as ollama run does, and pulls it when
 * the answer is yes.  Returns 0 once pulled, else 1 (no, or the pull
 * failed, said on stderr).
 */
int cmd_pull_ask(struct options *o, const char *cause);

/* n bytes as ollama's format.HumanBytes writes them ("4.7 GB"), malloc'd. */
char *cmd_bytes(uint64_t n);

/* The engine's: llama-perplexity's measure, and --raw completion. */
int cmd_perplexity(struct options *o);
int cmd_raw(struct options *o);

/*
 * The engine's settings the options give (cache type, context, batch; 0:
 * the model's default), and the thread count set (cmd-raw.c).
 */
struct model_ctx_params;
void cmd_engine_params(const struct options *o, struct model_ctx_params *p);

/* llama-bench's measure: prompt and generation tokens/s (cmd-bench.c). */
int cmd_bench(struct options *o);

/* The chat (no subcommand): the TUI, one-shot, or --demo (cmd-chat.c). */
int cmd_chat(struct options *o);

/*
 * Whether the chat of o is the full-screen one: no message in the
 * arguments, stdin and stdout terminals, no --no-tui.
 */
int cmd_chat_interactive(const struct options *o);

struct chat_config;

/*
 * Says why chat_open failed with cause (which it frees) and returns the
 * exit status: 2 for a --draft whose vocabulary is not the model's (the
 * line names the draft), 1 for anything else.
 */
int cmd_open_error(const struct chat_config *cfg, char *cause);

/* The chat's configuration for model from the options (cmd-chat.c). */
void cmd_chat_config(struct options *o, const char *model,
    struct chat_config *cfg);

/*
 * The text a command works on (cmd-chat.c): with CMD_TEXT_STDIN, stdin
 * read to its end (first saying, when it is a terminal, that the what is
 * read from it and how to end it), without the newlines it ends with
 * under CMD_TEXT_TRIM; then the arguments, all joined by spaces.  Returns
 * 0 with *out malloc'd and NUL-terminated, or -1 with *cause set.
 */
#define CMD_TEXT_STDIN	0x1
#define CMD_TEXT_TRIM	0x2
int cmd_text(struct options *o, const char *what, int flags, char **out,
    size_t *len, char **cause);

/*
 * The key on the first line of the file at path (--api-key-file), without
 * its line break and the spaces at its end.  Returns 0 with *key malloc'd,
 * or -1 with *cause set when the file cannot be read or that line is empty.
 */
int cmd_key_read(const char *path, char **key, char **cause);

/* An OpenAI-compatible HTTP server on a model (cmd-serve.c). */
int cmd_serve(struct options *o);

/* Prints "r1chat: " and the formatted message on stderr, one line. */
void cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Warns when -c is above the model's trained context, n_train tokens. */
void cmd_ctx_warn(const struct options *o, long n_train);

#endif
