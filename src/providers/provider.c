/* The provider registry: configuration's provider kind -> its table. */
#include "providers/provider.h"
#include "providers/anthropic.h"
#include "providers/gemini.h"
#include "providers/ollama.h"
#include "providers/openai.h"

const seam_provider *seam_provider_get(seam_provider_kind kind)
{
    switch (kind) {
    case SEAM_PROVIDER_OPENAI:
        return &seam_provider_openai;
    case SEAM_PROVIDER_ANTHROPIC:
        return &seam_provider_anthropic;
    case SEAM_PROVIDER_OLLAMA:
        return &seam_provider_ollama;
    case SEAM_PROVIDER_GEMINI:
        return &seam_provider_gemini;
    case SEAM_PROVIDER__COUNT:
        break;
    }
    return NULL;
}
