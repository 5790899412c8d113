/*
 * Look-alike normalisation for the scanner. A value can hide behind
 * characters that render like ASCII: non-breaking and other Unicode spaces,
 * Unicode dashes and minus signs, full-width digits and letters, and
 * invisible characters (zero-width spaces and joiners, soft hyphens, BOMs,
 * bidirectional marks) inserted between digits. The normaliser copies text
 * with each of these replaced by its ASCII form (invisible ones dropped) and
 * keeps a sparse map from output offsets back to input offsets, so that
 * entities found in the normalised copy are reported with spans into the
 * original bytes. Buffers are allocated once by the caller and reused.
 */
#ifndef SEAM_SCAN_NORMALIZE_H
#define SEAM_SCAN_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct seam_scan__norm {
    char *buf;  /* normalised output, <cap> bytes */
    size_t cap; /* capacity of buf */
    size_t len; /* bytes written by the last call */
    /* Map: from output offset mpos[i] on (to the next entry), input offset
     * = output offset + mdelta[i]. Offsets before mpos[0] are unchanged. */
    uint32_t *mpos, *mdelta;
    size_t mcap, nmap;
} seam_scan__norm;

/* Returns the offset of the first look-alike sequence in <p>, or <n> when
 * there is none (the common case, checked eight bytes at a time). */
size_t seam_scan__lookalike_find(const char *p, size_t n);

/* If a look-alike sequence starts at <p>, returns its ASCII replacement
 * (0 for an invisible character, which is dropped) and sets <*len> to its
 * length in bytes; returns -1 otherwise. */
int seam_scan__lookalike(const unsigned char *p, size_t n, size_t *len);

/* Normalises <p> into nm->buf, filling nm->len and the map. Stops early,
 * at a character boundary, when the buffer or the map is full, and returns
 * the number of input bytes consumed. Inputs must be under 4 GiB. */
size_t seam_scan__normalize(seam_scan__norm *nm, const char *p, size_t n);

/* Maps a start offset (inclusive) and an end offset (exclusive) of the
 * normalised text back to the input <src> given to seam_scan__normalize. */
size_t seam_scan__norm_start(const seam_scan__norm *nm, size_t off);
size_t seam_scan__norm_end(const seam_scan__norm *nm, const char *src, size_t off);

#endif
