// The runs of a successive-halving search (halving.h). A point trains to its rung with
// `--stop-after`, where its run pauses (status interrupted, resumable); a promoted point is
// resumed from that checkpoint, never restarted; a pruned point's run is marked completed, with
// `pruned at epoch E` and why in its report's stopped_early. What to do next is decided from the
// run folders each time, so a search killed and started again picks up where it was.
#pragma once

#include <iosfwd>
#include <vector>

#include "framework/sweep/halving.h"
#include "framework/sweep/scheduler.h"

namespace dlx::sweep {

class HalvingRuns : public Work {
 public:
  /// Checks that the points can be halved: one train.epochs, and validation for a val_ metric.
  HalvingRuns(const HalvingSpec& spec, const std::vector<Plan>& plans, Index& index,
              SweepResult& result, std::ostream& out);

  std::optional<Task> next() override;
  void ended(size_t i) override;
  size_t not_started() const override;
  /// "rungs at epochs 1, 3, 9 keep 9, 3, 1 points by val_acc"
  std::string describe() const;

 private:
  void read(size_t i);
  void prune();

  const std::vector<Plan>& plans_;
  Halving halving_;
  Index& index_;
  SweepResult& result_;
  std::ostream& out_;
  std::vector<bool> running_, settled_;
};

}  // namespace dlx::sweep
