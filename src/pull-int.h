/*
 * pull-int.h - what pull.c lends the planners of other hubs (pull-hub.c).
 */
#ifndef R1_PULL_INT_H
#define R1_PULL_INT_H

#include <stdint.h>

struct pull_plan;
struct store_name;

/*
 * Starts plan for name n: its short name, r1chat's store and the
 * manifest's path there.  Returns 0, or -1 with *cause set when there is
 * no store (neither XDG_DATA_HOME nor HOME).
 */
int pull_plan_begin(struct pull_plan *plan, const struct store_name *n,
    char **cause);

/*
 * GETs url (redirects followed; accept and a bearer token sent when not
 * NULL) into *out, malloc'd and NUL-terminated, at most 4 MiB.  Returns
 * 0, or -1 with *cause set, starting with what: the HTTP status in words
 * (404, 401, 429, ...) or libcurl's error; then, when challenge is not
 * NULL, *challenge is a 401's WWW-Authenticate header (malloc'd) or NULL.
 */
int pull_text_get(const char *url, const char *accept, const char *token,
    const char *what, char **out, char **cause, char **challenge);

/*
 * Adds a file to plan: its SHA-256 in lowercase hex, size, label and URL
 * (copied), and what of it is already in plan->root's blobs.
 */
void pull_plan_add(struct pull_plan *plan, const char *hex, uint64_t size,
    const char *label, const char *url);

#endif
