/*
 * libFuzzer harness for the Redis URL parser (state.redis in the config):
 * arbitrary text must be accepted or refused with a message, never crash.
 */
#include "state/shared.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    char err[256];
    seam_shared_url_valid(url, err, sizeof(err));
    free(url);
    return 0;
}
