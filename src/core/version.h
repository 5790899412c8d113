/* seam's version, reported by `seam version` and in metrics. */
#ifndef SEAM_CORE_VERSION_H
#define SEAM_CORE_VERSION_H

#define SEAM_VERSION "0.2.0"

#endif
