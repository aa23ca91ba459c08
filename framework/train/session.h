// One training session of a run, new or resumed: it owns the report while training, saves it
// (with curves.svg and classes.svg) after every epoch, and ends it with a status whatever
// happens. run.cpp starts a session in a new folder, resume.cpp in an existing one.
#pragma once

#include <chrono>
#include <iosfwd>
#include <memory>
#include <optional>

#include "framework/data/dataset.h"
#include "framework/nn/builder.h"
#include "framework/report/run_report.h"
#include "framework/train/judge.h"
#include "framework/train/run.h"
#include "framework/train/trainer.h"

namespace dlx::train {

class StopOnSignal;

/// The network as a run starts it: train.seed seeds the global generator (which also draws
/// dropout's masks), then the network is built for the data (experiment::build_network) and
/// initialised (train.init).
nn::Network seeded_network(const config::ExperimentSpec& spec);

class Session {
 public:
  Session(config::ExperimentSpec& spec, const RunOptions& options, std::ostream& out);
  ~Session();

  /// Data parallelism: only rank 0 writes files; the other ranks train and keep quiet.
  bool writes() const { return options_.rendezvous.rank == 0; }

  /// Trains `net` (from the folder's checkpoint when `resuming`) to the end of the run or until
  /// it stops, and leaves the report saying how it ended.
  RunOutcome execute(nn::Network& net, bool resuming);

  std::filesystem::path folder;
  c10::Device device = c10::kCPU;
  report::RunReport report;
  double earlier_wall_seconds = 0;  // of the sessions before a resume

 private:
  struct Loop;
  report::RunStatus train(nn::Network& net, bool resuming);
  data::Dataset load_data();
  void place(nn::Network& net);
  EpochState starting_state(const nn::Network& net, torch::optim::Optimizer& optimizer,
                            bool resuming);
  void prepare_steps(nn::Network& net, Loop& loop, bool resuming);
  void save_state(nn::Network& net, Loop& loop, const EpochState& next);
  std::optional<report::RunStatus> epoch(nn::Network& net, Loop& loop);
  report::RunStatus evaluate_only(nn::Network& net, Loop& loop);
  // `fit` null: epoch 0, the starting weights.
  const report::EpochRecord& record_epoch(nn::Network& net, Loop& loop, const EpochState* fit,
                                          double lr);
  void save();
  void finish(report::RunStatus status, const std::string& error);

  config::ExperimentSpec& spec_;
  const RunOptions& options_;
  std::ostream& out_;
  Judge judge_;
  StopOnSignal* signals_ = nullptr;
  bool paused_ = false;  // stopped by RunOptions::stop_after, as asked
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace dlx::train
