/*
 * Per-layer profiling hooks for a generated model. The generated <model>.c calls
 * TG_LAYER_BEGIN(index) / TG_LAYER_END(index) around every layer and defines them empty
 * unless they are defined already; a build that counts (the QEMU environments) force-includes
 * this header (`-include lib/tinygen_harness/include/tg_profile.h`) so that the hooks feed the
 * harness's per-layer counters.
 */
#ifndef TG_PROFILE_H
#define TG_PROFILE_H

#ifdef __cplusplus
extern "C" {
#endif

void tg_profile_layer_begin(int index);
void tg_profile_layer_end(int index);

#ifdef __cplusplus
}
#endif

#define TG_LAYER_BEGIN(index) tg_profile_layer_begin(index)
#define TG_LAYER_END(index) tg_profile_layer_end(index)

#endif /* TG_PROFILE_H */
