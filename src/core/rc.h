/*
 * seam return codes: one closed set with stable values, so callers can switch
 * on them and logs can name them (as curl's CURLcode).
 */
#ifndef SEAM_CORE_RC_H
#define SEAM_CORE_RC_H

typedef enum {
    SEAM_OK = 0,
    SEAM_ERR_NOMEM = 1,      /* allocation failed */
    SEAM_ERR_INVALID = 2,    /* malformed or invalid input */
    SEAM_ERR_TOO_BIG = 3,    /* input over a configured limit */
    SEAM_ERR_NOT_FOUND = 4,  /* unknown path, model, key, ... */
    SEAM_ERR_CONFIG = 5,     /* configuration error */
    SEAM_ERR_IO = 6,         /* file or socket error */
    SEAM_ERR_UPSTREAM = 7,   /* backend failed or spoke garbage */
    SEAM_ERR_TIMEOUT = 8,    /* backend did not answer in time */
    SEAM_ERR_NO_BACKEND = 9, /* no backend may receive this request */
    SEAM_ERR_FORBIDDEN = 10, /* refused by policy */
    SEAM_ERR_CANCELLED = 11, /* the client went away */
    /* the request needs more tokens than the context window of every
     * backend that may serve it (HTTP 400 context_length_exceeded) */
    SEAM_ERR_TOO_LARGE = 12,
} seam_rc;

/* Returns a short stable name for <rc>, e.g. "invalid". */
const char *seam_rc_str(seam_rc rc);

#endif
