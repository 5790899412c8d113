/*
 * `seam scan`: runs the detector over a file, standard input, or a JSON
 * Lines file of {"text": ...} objects, and prints what it finds: entity
 * types, byte spans and scores, and the sensitivity they imply. Values are
 * masked unless the caller asks for them with --show-values.
 */
#ifndef SEAM_SCAN_CLI_H
#define SEAM_SCAN_CLI_H

#include "config/config.h"

#include <stdio.h>

/* Runs `seam scan` with the arguments that follow the command name
 * (<argv>[0] is the first of them; -c FILE has already been consumed by
 * the caller, which loaded <cfg>, or passes NULL for the built-in
 * defaults):
 *
 *   [--json] [--show-values] [FILE|-]      scan one text
 *   --jsonl FILE|- [--show-values]         scan each line's "text"
 *
 * Writes results to <out> and problems to <err>. Returns the process exit
 * status: 0 when everything was scanned, 1 when a text could not be (a bad
 * JSON line, a scanner failure), 2 on a usage, file or configuration
 * error. */
int seam_scan_cli(const seam_config *cfg, int argc, char **argv, FILE *out, FILE *err);

#endif
