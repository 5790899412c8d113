/*
 * `seam route`: the policy without the network. Each input line is a task
 * ({"kind","sensitivity","complexity","tokens","model","has_images",
 * "has_tools","reasoning"}) or a whole OpenAI chat request; each output line
 * is the decision the gateway would take: pool, backend, rule, fallbacks,
 * what the rule's `set` changes (set=reasoning=off,max_tokens<=512) and the
 * reason; status=400 when the request exceeds every allowed backend's
 * context window, 503 when no allowed backend has what it needs. Teams run
 * their policy over sample traffic before deploying it.
 */
#ifndef SEAM_POLICY_EXPLAIN_H
#define SEAM_POLICY_EXPLAIN_H

#include "config/config.h"
#include "core/buf.h"
#include "core/rc.h"
#include "scan/scan.h"

#include <stdbool.h>

/* Decides one input line and appends one output line (text or JSON) to
 * <out>. Whole requests are scanned with <scanner> (may be NULL) as the
 * gateway would. Returns SEAM_OK, or SEAM_ERR_INVALID when the line is not a
 * valid task or request (an error line is still written). */
seam_rc seam_policy_route_line(const seam_config *cfg, const seam_scanner *scanner,
                               seam_scan_scratch *scratch, const char *line, size_t len, bool json,
                               seam_buf *out);

#endif
