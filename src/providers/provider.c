/* The provider registry: configuration's provider kind -> its table. */
#include "providers/provider.h"
#include "providers/openai.h"

const seam_provider *seam_provider_get(seam_provider_kind kind)
{
    switch (kind) {
    case SEAM_PROVIDER_OPENAI:
        return &seam_provider_openai;
    }
    return NULL;
}
