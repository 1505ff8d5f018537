/* libFuzzer target: the JSON import parser (see fuzz_parse.h). */

#include "fuzz_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    return fuzz_parse(data, len, BULKIO_FMT_JSON);
}
