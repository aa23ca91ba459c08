#include "framework/sweep/halving.h"

#include <fmt/format.h>

#include <cmath>
#include <numeric>

#include "framework/metrics/metric.h"

namespace dlx::sweep {

Ladder make_ladder(size_t points, const HalvingSpec& spec, int64_t epochs) {
  Ladder ladder;
  size_t at_rung = points;
  for (int64_t rung = spec.min_epochs; rung < epochs; rung *= spec.eta) {
    ladder.rungs.push_back(rung);
    at_rung = std::max<size_t>(1, at_rung / size_t(spec.eta));
    ladder.keep.push_back(at_rung);
    if (rung > (epochs - 1) / spec.eta) break;  // the next would pass `epochs` (or overflow)
  }
  ladder.rungs.push_back(epochs);
  return ladder;
}

Halving::Halving(const HalvingSpec& spec, size_t points, int64_t epochs)
    : spec_(spec), ladder_(make_ladder(points, spec, epochs)), points_(points) {}

void Halving::record(size_t i, std::vector<report::EpochRecord> epochs, bool can_go_on) {
  points_[i] = Standing{std::move(epochs), can_go_on};
}

// The metric at `epoch` when the point has trained that far and it is a number.
std::optional<double> Halving::score(size_t i, int64_t epoch) const {
  for (const auto& e : points_[i].epochs) {
    if (e.epoch != epoch) continue;
    const auto value = e.value(spec_.metric);
    if (value && std::isfinite(*value)) return value;
  }
  return std::nullopt;
}

namespace {
using AtRung = Halving::AtRung;

// How many scored points beat `a` (ties go to the earlier point).
size_t beaten_by(const AtRung& a, const std::vector<AtRung>& rung, bool higher_is_better) {
  size_t n = 0;
  for (const auto& b : rung) {
    if (b.state != AtRung::kScored || b.point == a.point) continue;
    const bool better = higher_is_better ? b.score > a.score : b.score < a.score;
    if (better || (b.score == a.score && b.point < a.point)) ++n;
  }
  return n;
}

}  // namespace

// Where each candidate stands at rung k; those still to get there train, those that ended short
// of it are done.
std::vector<Halving::AtRung> Halving::standings(const std::vector<size_t>& candidates, size_t k,
                                                std::vector<Step>& out) const {
  const int64_t epoch = ladder_.rungs[k];
  std::vector<AtRung> rung;
  for (size_t c : candidates) {
    const auto& epochs = points_[c].epochs;
    if (const auto s = score(c, epoch)) {
      rung.push_back({c, AtRung::kScored, *s});
    } else if ((!epochs.empty() && epochs.back().epoch >= epoch) || !points_[c].can_go_on) {
      rung.push_back({c, AtRung::kEnded});
      out[c] = Step::done();
    } else {
      rung.push_back({c, AtRung::kPending});
      out[c] = Step::train(epoch);
    }
  }
  return rung;
}

// The scored points of rung k that certainly go on: fewer beat them than go on, counting each of
// the `unknown` points (still training to the rung, or yet to come up to it) as one that will.
// Those that certainly do not are pruned; the rest wait.
std::vector<size_t> Halving::promote(const std::vector<AtRung>& rung, size_t k, size_t unknown,
                                     std::vector<Step>& out) const {
  const size_t keep = ladder_.keep[k];
  const bool higher = metrics::parse_metric(spec_.metric)->higher_is_better();
  std::vector<size_t> next;
  for (const auto& a : rung) {
    if (a.state != AtRung::kScored) continue;
    const size_t better = beaten_by(a, rung, higher);
    if (better + unknown < keep) {
      next.push_back(a.point);
    } else if (better >= keep) {
      out[a.point] = Step::pruned(
          ladder_.rungs[k],
          fmt::format("{} of the {} points at epoch {} did better on {} than its {:.4g}, and the "
                      "best {} go on",
                      better, k ? ladder_.keep[k - 1] : points_.size(), ladder_.rungs[k],
                      spec_.metric, a.score, keep));
    } else {
      out[a.point] = Step::wait();
    }
  }
  return next;
}

std::vector<Step> Halving::steps() const {
  std::vector<Step> out(points_.size());
  std::vector<size_t> candidates(points_.size());
  std::iota(candidates.begin(), candidates.end(), size_t(0));
  size_t may_join = 0;  // points below the rung that may yet be promoted to it
  for (size_t k = 0; k < ladder_.rungs.size(); ++k) {
    const std::vector<AtRung> rung = standings(candidates, k, out);
    size_t unknown = may_join;
    for (const auto& a : rung) unknown += a.state == AtRung::kPending;
    if (k + 1 == ladder_.rungs.size()) {
      for (const auto& a : rung)
        if (a.state == AtRung::kScored) out[a.point] = Step::done();
      break;
    }
    candidates = promote(rung, k, unknown, out);
    size_t waiting = 0;
    for (const auto& a : rung)
      waiting += a.state == AtRung::kScored && out[a.point].kind == Step::kWait;
    may_join = std::min(ladder_.keep[k] - candidates.size(), unknown + waiting);
  }
  return out;
}

}  // namespace dlx::sweep
