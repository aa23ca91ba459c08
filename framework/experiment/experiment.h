// An experiment as a whole: its config joined with its dataset's facts and its network. The config
// floor reads and checks what a file alone can tell; this floor adds what needs the dataset's
// registry entry (its name, the examples' shape, a validation split) and builds the network for
// the data. Everything that trains, sweeps, predicts or exports loads experiments through here.
#pragma once

#include <filesystem>
#include <vector>

#include "framework/config/experiment.h"
#include "framework/nn/builder.h"

namespace dlx::experiment {

/// config::load_experiment, then the checks that need the dataset (data::check_data, the
/// examples' shape against model.input, a validation split for what chooses or stops on one).
/// model.input is set to the data's shape. A folder dataset's first image is looked at.
/// A builder model (one whose `args` declare num_classes, as torchvision's builders take it)
/// follows the data: its classes, and its images' height and width; each change is a line in
/// `notes` when given.
config::ExperimentSpec load(const std::filesystem::path& path,
                            const std::vector<config::Override>& overrides = {},
                            std::vector<std::string>* notes = nullptr);

/// Builds the experiment's model for its data and checks that its output matches the classes.
nn::Network build_network(const config::ExperimentSpec& spec);

}  // namespace dlx::experiment
