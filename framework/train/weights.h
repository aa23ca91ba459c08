// model.weights: a run starts from weights of a file. The file is read safely (core/torch_file.h:
// nothing in it runs), its state_dict found (plain, or under state_dict, model or model_ema, with
// DataParallel's `module.` stripped), and every tensor of the model matched by name and shape
// before any is copied: a mismatch stops the run before training with one line per problem kind,
// naming the first few names on each side and the closest ones. The head may be left new when the
// data's classes differ from the file's; so may any parameter that `new:` names.
#pragma once

#include <string>
#include <vector>

#include "framework/config/experiment.h"
#include "framework/nn/builder.h"
#include "framework/train/optim.h"

namespace dlx::train {

/// What starting from a file did, for the notes and the report.
struct StartedFrom {
  std::string file;                // the file read (a run folder's checkpoint file)
  std::string hash;                // FNV-1a of its bytes, hex
  int64_t loaded = 0;              // tensors copied in
  std::vector<std::string> fresh;  // the model's tensors left as initialised
  std::vector<std::string> notes;  // one line each: what was found, stripped, left new
};

/// Reads the file `weights` names and copies it into `network`. The head (the last layer with
/// parameters) whose shape differs from the file's, as when the data has other classes, is left
/// new with a note; any other difference is an error. A problem with the file or the match is a
/// ConfigError at `where` (model.weights).
StartedFrom start_from_weights(nn::Network& network, const config::WeightsSpec& weights,
                               const Location& where);

/// What training will start with, for `dlx validate` and `dlx shapes`: a header and a row per
/// top-level layer or block of `network`, its parameters (numbers), how many of them `from`
/// loaded and left new (none loaded without `from`), how many are frozen (read from
/// requires_grad: call apply_freeze first), and the learning rates (`lr` times each group's
/// multiplier) of the optimizer groups they are in.
std::vector<std::string> start_table(const StartedFrom* from, const nn::Network& network,
                                     const std::vector<ParamGroup>& groups, double lr);

}  // namespace dlx::train
