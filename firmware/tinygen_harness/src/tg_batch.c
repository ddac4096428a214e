/* Batch inference from a file to a file (see tg_batch.h). */
#include "tg_batch.h"

#include <stdio.h>

int tg_batch_run(const char *input_path, const char *output_path, tg_batch_step step, int8_t *in,
                 size_t in_bytes, int8_t *out, size_t out_bytes)
{
    unsigned char header[4];
    uint32_t count, i;
    int status = 0;
    FILE *source = fopen(input_path, "rb");
    FILE *sink = fopen(output_path, "wb");
    if (source == NULL || fread(header, 1, sizeof header, source) != sizeof header) {
        status = 2;
    } else if (sink == NULL) {
        status = 3;
    } else {
        count = (uint32_t)header[0] | (uint32_t)header[1] << 8 | (uint32_t)header[2] << 16 |
                (uint32_t)header[3] << 24;
        for (i = 0; i < count && status == 0; ++i) {
            if (fread(in, 1, in_bytes, source) != in_bytes) {
                status = 2;
            } else if (step(in, out) != 0) {
                status = 4;
            } else if (fwrite(out, 1, out_bytes, sink) != out_bytes) {
                status = 3;
            }
        }
    }
    if (source != NULL) {
        fclose(source);
    }
    if (sink != NULL && fclose(sink) != 0 && status == 0) {
        status = 3;
    }
    return status;
}
