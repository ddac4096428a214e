/*
 * Batch inference through a firmware (`tinygen run OUT --target ENV`): samples come from a
 * file and results go to a file, through the C library (on QEMU, semihosting file I/O on the
 * host computer's files). The file format is the host simulator's: a uint32 sample count
 * (little-endian), then per sample the int8 inputs back to back; the results file holds per
 * sample the int8 outputs back to back.
 */
#ifndef TG_BATCH_H
#define TG_BATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Run one sample: `in` holds its inputs back to back, `out` receives its outputs. */
typedef int (*tg_batch_step)(const int8_t *in, int8_t *out);

/* Returns 0 on success, 2 if the input cannot be read, 3 if the output cannot be written.
 * `in` and `out` are buffers of in_bytes and out_bytes (one sample). */
int tg_batch_run(const char *input_path, const char *output_path, tg_batch_step step, int8_t *in,
                 size_t in_bytes, int8_t *out, size_t out_bytes);

#ifdef __cplusplus
}
#endif

#endif /* TG_BATCH_H */
