#pragma once
// The per-token rules of generation, shared by the CPU (model/generator.cpp, model/music_lstm.cpp)
// and the persistent kernel (lstm_persistent.cu), so both feed and sample by one formula.
#include <cmath>
#include <cstdint>

#include "hd.h"

namespace legato::kernels {

// The scalar input of a token, as the seed fed Keras: token / vocab (computed in double).
LEGATO_HD double scalar_token_input(int32_t token, int64_t vocab) { return token * (1.0 / static_cast<double>(vocab)); }

// A candidate's unnormalised probability at `temperature`, relative to the top logit (so the
// largest weight is 1 and nothing overflows).
LEGATO_HD double sampling_weight(float logit, double top, double temperature) {
  using std::exp;
  return exp((static_cast<double>(logit) - top) / temperature);
}

// Nucleus (top-p): candidates are kept in descending order until their weights reach top_p of the
// total; `mass` is the weight of those kept so far.
LEGATO_HD bool nucleus_reached(double mass, double top_p, double total) { return !(mass < top_p * total); }

}  // namespace legato::kernels
