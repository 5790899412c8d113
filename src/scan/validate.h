/*
 * Validators for the scanner's candidate matches: check digits (Luhn, IBAN
 * mod 97, ABA, NPI, DEA, NHS), number ranges (SSN), structure (JWT, e-mail,
 * IP addresses, phone numbers, dates) and the measures that keep generic
 * secrets honest (Shannon entropy, placeholders). All of them are pure
 * functions over (pointer, length) views of ASCII text that the scanner has
 * already normalised; none allocates. They are internal to src/scan/ (hence
 * the double underscore) and exposed here for the unit tests.
 */
#ifndef SEAM_SCAN_VALIDATE_H
#define SEAM_SCAN_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* Copies the ASCII digits of <p> into <out> (at most <cap>) and returns how
 * many there were, or cap + 1 when there were more than <cap>. */
size_t seam_scan__digits(const char *p, size_t n, char *out, size_t cap);

/* Luhn (mod 10) over <n> ASCII digits. */
bool seam_scan__luhn(const char *digits, size_t n);

/* A payment card number as written: 13 to 19 digits, either contiguous or in
 * a known grouping (4-4-4-4, 4-6-5, ...) with one separator used
 * throughout; an issuer prefix whose lengths include this one; Luhn. */
bool seam_scan__card(const char *p, size_t n);

/* An IBAN, contiguous or in groups of four separated by single spaces:
 * known country, that country's length, ISO 7064 mod 97-10. */
bool seam_scan__iban(const char *p, size_t n);

/* A US SSN written AAA-GG-SSSS, AAA GG SSSS or AAAGGSSSS: area not 000,
 * 666 or 900-999; group not 00; serial not 0000; the same separator twice;
 * not one digit repeated; not a well-known sample number. */
bool seam_scan__ssn(const char *p, size_t n);

/* An ABA routing number: 9 digits, a Federal Reserve prefix (01-12, 21-32,
 * 61-72, 80) and the 3-7-1 checksum. */
bool seam_scan__aba(const char *p, size_t n);

/* A US National Provider Identifier: 10 digits starting 1 or 2, Luhn over
 * "80840" followed by the digits. */
bool seam_scan__npi(const char *p, size_t n);

/* A DEA registration number: a registrant-type letter, a letter (or 9),
 * 7 digits with (d1+d3+d5) + 2(d2+d4+d6) = d7 (mod 10). */
bool seam_scan__dea(const char *p, size_t n);

/* A UK NHS number: 10 digits, contiguous or 3-3-4 with one separator;
 * mod 11 check digit (weights 10..2), 10 never valid. */
bool seam_scan__nhs(const char *p, size_t n);

/* A JSON Web Token: header.payload.signature in base64url where the header
 * and the payload decode to JSON objects and the header names an "alg". */
bool seam_scan__jwt(const char *p, size_t n);

/* IP addresses, checked with inet_pton. */
bool seam_scan__ipv4(const char *p, size_t n);
bool seam_scan__ipv6(const char *p, size_t n);

/* An e-mail address: a sane local part and domain labels, and a top-level
 * domain that exists. */
bool seam_scan__email(const char *p, size_t n);
bool seam_scan__tld(const char *p, size_t n);

/* A phone number: "+CC ..." with a known country calling code and a
 * national number of a length that country uses, or a North American
 * number (area code and exchange not starting 0 or 1). Separators are
 * spaces, dots, dashes and parentheses around the area code. */
bool seam_scan__phone(const char *p, size_t n);

/* A calendar date that exists, between 1900 and 2099. */
bool seam_scan__date_ok(int y, int m, int d);

/* Parses a date written at the start of <p> (numeric: 1990-05-25,
 * 05/25/1990, 25.05.1990, 5/25/90; spelled: 25 May 1990, May 25, 1990,
 * 25-May-1990) and returns its length, or 0 when there is none. */
size_t seam_scan__date(const char *p, size_t n);

/* Shannon entropy of the bytes of <p>, in bits per character. */
double seam_scan__entropy(const char *p, size_t n);

/* True when <p> is a placeholder or a template rather than a value:
 * <...>, ${...}, {{...}}, %(...)s, $VAR, "changeme", "xxxx", "your...",
 * "example", "redacted", one character repeated, and similar. */
bool seam_scan__placeholder(const char *p, size_t n);

/* True when <p> looks like a program identifier, an attribute path or an
 * expression (os.environ["X"], getpass(), settings.SECRET_KEY) rather than
 * a literal secret. */
bool seam_scan__code_like(const char *p, size_t n);

#endif
