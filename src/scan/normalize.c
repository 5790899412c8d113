/*
 * Look-alike normalisation (see normalize.h). The table of sequences is
 * written out by UTF-8 byte values rather than decoded code points, so the
 * common case (no byte above 0x7f, or none that starts a look-alike) costs
 * one pass of word-wide tests and no copy.
 */
#include "scan/normalize.h"

#include <string.h>

int seam_scan__lookalike(const unsigned char *p, size_t n, size_t *len)
{
    if (n < 2 || p[0] < 0xc2)
        return -1;
    if (p[0] == 0xc2) {
        *len = 2;
        if (p[1] == 0xa0) /* U+00A0 no-break space */
            return ' ';
        if (p[1] == 0xad) /* U+00AD soft hyphen */
            return 0;
        return -1;
    }
    if (n < 3)
        return -1;
    *len = 3;
    unsigned char b = p[1], c = p[2];
    switch (p[0]) {
    case 0xe1:
        if (b == 0x9a && c == 0x80) /* U+1680 ogham space mark */
            return ' ';
        if (b == 0xa0 && c == 0x8e) /* U+180E Mongolian vowel separator */
            return 0;
        return -1;
    case 0xe2:
        if (b == 0x80) {
            if (c >= 0x80 && c <= 0x8a) /* U+2000-U+200A en quad .. hair space */
                return ' ';
            if (c >= 0x8b && c <= 0x8f) /* zero-width space, (non-)joiner, LRM, RLM */
                return 0;
            if (c >= 0x90 && c <= 0x95) /* hyphen, non-breaking hyphen, figure dash .. bar */
                return '-';
            if (c == 0xa8 || c == 0xa9 || c == 0xaf) /* line/paragraph separator, NNBSP */
                return ' ';
            if (c >= 0xaa && c <= 0xae) /* bidirectional embeddings and overrides */
                return 0;
            return -1;
        }
        if (b == 0x81) {
            if (c == 0x83) /* U+2043 hyphen bullet */
                return '-';
            if (c == 0x9f) /* U+205F medium mathematical space */
                return ' ';
            if (c >= 0xa0 && c <= 0xa4) /* word joiner, invisible operators */
                return 0;
            if (c >= 0xa6 && c <= 0xaf) /* bidirectional isolates, deprecated formats */
                return 0;
            return -1;
        }
        if (b == 0x88 && c == 0x92) /* U+2212 minus sign */
            return '-';
        return -1;
    case 0xe3:
        if (b == 0x80 && c == 0x80) /* U+3000 ideographic space */
            return ' ';
        return -1;
    case 0xef:
        if (b == 0xbb && c == 0xbf) /* U+FEFF byte order mark / ZWNBSP */
            return 0;
        if (b == 0xb9 && (c == 0x98 || c == 0xa3)) /* small em dash, small hyphen-minus */
            return '-';
        /* U+FF01-U+FF5E: full-width forms of ASCII 0x21-0x7e. */
        if (b == 0xbc && c >= 0x81 && c <= 0xbf)
            return 0x21 + (c - 0x81);
        if (b == 0xbd && c >= 0x80 && c <= 0x9e)
            return 0x60 + (c - 0x80);
        return -1;
    default:
        return -1;
    }
}

size_t seam_scan__lookalike_find(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    size_t len;
    while (i < n) {
        /* Skip ASCII 32 bytes at a time, then 8. */
        while (i + 32 <= n) {
            uint64_t w[4];
            memcpy(w, s + i, 32);
            if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull)
                break;
            i += 32;
        }
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if (seam_scan__lookalike(s + i, n - i, &len) >= 0)
            return i;
        i++;
    }
    return n;
}

/* Records that from output offset <pos> on, input = output + <delta>. */
static int map_set(seam_scan__norm *nm, size_t pos, size_t delta)
{
    if (nm->nmap && nm->mpos[nm->nmap - 1] == pos) {
        nm->mdelta[nm->nmap - 1] = (uint32_t)delta;
        return 0;
    }
    if (nm->nmap == nm->mcap)
        return -1;
    nm->mpos[nm->nmap] = (uint32_t)pos;
    nm->mdelta[nm->nmap] = (uint32_t)delta;
    nm->nmap++;
    return 0;
}

size_t seam_scan__normalize(seam_scan__norm *nm, const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, o = 0, delta = 0, len;
    nm->nmap = 0;
    while (i < n && o < nm->cap) {
        if (s[i] < 0x80) {
            nm->buf[o++] = (char)s[i++];
            continue;
        }
        int r = seam_scan__lookalike(s + i, n - i, &len);
        if (r < 0) {
            nm->buf[o++] = (char)s[i++];
            continue;
        }
        /* Stop while the map still has room for this entry. */
        if (nm->nmap + 1 >= nm->mcap)
            break;
        if (r > 0) {
            nm->buf[o++] = (char)r;
            delta += len - 1;
            map_set(nm, o, delta);
        } else {
            delta += len;
            map_set(nm, o, delta);
        }
        i += len;
    }
    nm->len = o;
    return i;
}

static size_t delta_at(const seam_scan__norm *nm, size_t off)
{
    size_t lo = 0, hi = nm->nmap;
    /* The last entry with mpos <= off. */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (nm->mpos[mid] <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? nm->mdelta[lo - 1] : 0;
}

size_t seam_scan__norm_start(const seam_scan__norm *nm, size_t off)
{
    return off + delta_at(nm, off);
}

size_t seam_scan__norm_end(const seam_scan__norm *nm, const char *src, size_t off)
{
    if (off == 0)
        return 0;
    size_t q = off - 1, s = q + delta_at(nm, q);
    unsigned char in = (unsigned char)src[s];
    /* An ASCII output byte that came from a multi-byte sequence was a
     * replacement: the span ends after the whole sequence. */
    if ((unsigned char)nm->buf[q] < 0x80 && in >= 0x80)
        return s + (in >= 0xe0 ? 3 : 2);
    return s + 1;
}
