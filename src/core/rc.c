/* Names for seam_rc values, used in logs and error messages. */
#include "core/rc.h"

const char *seam_rc_str(seam_rc rc)
{
    switch (rc) {
    case SEAM_OK:
        return "ok";
    case SEAM_ERR_NOMEM:
        return "out_of_memory";
    case SEAM_ERR_INVALID:
        return "invalid";
    case SEAM_ERR_TOO_BIG:
        return "too_big";
    case SEAM_ERR_NOT_FOUND:
        return "not_found";
    case SEAM_ERR_CONFIG:
        return "config";
    case SEAM_ERR_IO:
        return "io";
    case SEAM_ERR_UPSTREAM:
        return "upstream";
    case SEAM_ERR_TIMEOUT:
        return "timeout";
    case SEAM_ERR_NO_BACKEND:
        return "no_backend";
    case SEAM_ERR_FORBIDDEN:
        return "forbidden";
    case SEAM_ERR_CANCELLED:
        return "cancelled";
    case SEAM_ERR_TOO_LARGE:
        return "too_large";
    }
    return "unknown";
}
