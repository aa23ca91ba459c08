// Successive halving (`sweep.halving`): every point trains `min_epochs`, the best 1/eta of them by
// the metric go on to `min_epochs * eta` epochs, the best 1/eta of those further, and so on up to
// train.epochs. Points are compared at these rungs on the metric of the rung's epoch.
//
// It is asynchronous, as ASHA is: a point goes on as soon as it is certainly among the best at its
// rung (fewer points beat it than go on, counting every point still training as one that will),
// and stops as soon as it certainly is not. So `--jobs N` stays busy, and the points that go on are
// exactly those synchronous halving would pick, in whatever order the runs end. Ties go to the
// earlier point. Everything is decided from what the run folders hold, so a restarted search
// decides the same and repeats nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framework/config/sweep_points.h"
#include "framework/report/report.h"

namespace dlx::sweep {

/// The rungs of a search of `points` points: the epochs at which they are compared, and how many
/// go on past each.
struct Ladder {
  std::vector<int64_t> rungs;  // min_epochs, min_epochs * eta, ..., and `epochs` last
  std::vector<size_t> keep;    // keep[k]: the points that go on past rungs[k] (all but the last)
};
Ladder make_ladder(size_t points, const HalvingSpec& spec, int64_t epochs);

/// What one point does next.
struct Step {
  enum Kind { kTrain, kWait, kDone } kind = kWait;
  int64_t to_epoch = 0;   // kTrain: train up to this epoch (a rung)
  int64_t pruned_at = 0;  // kDone: the rung at which it stopped going on; 0 when it was not pruned
  std::string why;        // kDone with pruned_at: its rank, for the report

  static Step train(int64_t epoch) { return {kTrain, epoch, 0, {}}; }
  static Step done() { return {kDone, 0, 0, {}}; }
  static Step wait() { return {kWait, 0, 0, {}}; }
  static Step pruned(int64_t epoch, std::string why) { return {kDone, 0, epoch, std::move(why)}; }
};

class Halving {
 public:
  Halving(const HalvingSpec& spec, size_t points, int64_t epochs);

  /// What point `i`'s folder holds: its epochs' records and whether it can train on (false when
  /// it failed, diverged or stopped early).
  void record(size_t i, std::vector<report::EpochRecord> epochs, bool can_go_on);
  /// What every point does next, decided from the records.
  std::vector<Step> steps() const;
  const Ladder& ladder() const { return ladder_; }
  const HalvingSpec& spec() const { return spec_; }

  /// A point at a rung: trained to it with a score, still to get there, or ended short of it.
  struct AtRung {
    size_t point;
    enum { kScored, kPending, kEnded } state;
    double score = 0;
  };

 private:
  struct Standing {
    std::vector<report::EpochRecord> epochs;
    bool can_go_on = true;
  };
  std::optional<double> score(size_t i, int64_t epoch) const;
  std::vector<AtRung> standings(const std::vector<size_t>& candidates, size_t k,
                                std::vector<Step>& out) const;
  std::vector<size_t> promote(const std::vector<AtRung>& rung, size_t k, size_t unknown,
                              std::vector<Step>& out) const;

  HalvingSpec spec_;
  Ladder ladder_;
  std::vector<Standing> points_;
};

}  // namespace dlx::sweep
