/* tinygen kernel library: the public API, one header per kernel family.
 *
 * Naming follows CMSIS-NN: tg_<op>[_<variant>]_s8. Every kernel takes
 * (context, parameters, input pointer(s), output pointer): the context carries scratch memory
 * from the arena, sized by tg_<op>_get_buffer_size(); the parameter struct holds shapes,
 * quantization and constant data, and is emitted by the code generator as a static const.
 */
#ifndef TG_NNFUNCTIONS_H
#define TG_NNFUNCTIONS_H

#include "tg_types.h"
#include "tg_quantize.h"
#include "tg_conv.h"
#include "tg_fully_connected.h"
#include "tg_elementwise.h"
#include "tg_pool.h"
#include "tg_softmax.h"
#include "tg_lut.h"
#include "tg_concat.h"
#include "tg_pad.h"
#include "tg_prelu.h"
#include "tg_recurrent.h"
#include "tg_transpose.h"
#include "tg_copy.h"
#include "tg_resize.h"
#include "tg_reduce.h"
#include "tg_where.h"
#include "tg_batch_matmul.h"
#include "tg_layer_norm.h"
#include "tg_s4.h"
#include "tg_s16.h"

#endif /* TG_NNFUNCTIONS_H */
