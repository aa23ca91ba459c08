// Successive halving's decisions (framework/sweep/halving.h), on made-up scores: the rungs, and
// that the points promoted are exactly the top 1/eta at each rung whatever order runs end in.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

#include "framework/sweep/halving.h"

using namespace dlx;
using sweep::Halving;
using sweep::HalvingSpec;
using sweep::Step;

namespace {

HalvingSpec spec(int64_t eta, int64_t min_epochs, const std::string& metric = "val_acc") {
  HalvingSpec s;
  s.eta = eta, s.min_epochs = min_epochs, s.metric = metric;
  return s;
}

// Point p's made-up validation accuracy after `epoch` epochs: it rises with the epoch, and the
// order of the points changes from one epoch to the next.
double accuracy(size_t p, int64_t epoch) {
  std::mt19937_64 gen(p * 1000 + uint64_t(epoch));
  return std::uniform_real_distribution<double>(0, 1)(gen) * 0.5 + 0.05 * double(epoch);
}

std::vector<report::EpochRecord> trained(size_t p, int64_t epochs) {
  std::vector<report::EpochRecord> out;
  for (int64_t e = 1; e <= epochs; ++e) {
    report::EpochRecord r;
    r.epoch = e;
    r.val_acc = accuracy(p, e);
    r.val_loss = 1 - *r.val_acc;
    out.push_back(r);
  }
  return out;
}

// The points that synchronous halving takes past each rung: the best `keep[k]` of those that
// reached rung k (ties to the earlier point).
std::vector<std::set<size_t>> synchronous(size_t n, const sweep::Ladder& ladder) {
  std::vector<size_t> alive(n);
  for (size_t i = 0; i < n; ++i) alive[i] = i;
  std::vector<std::set<size_t>> out;
  for (size_t k = 0; k < ladder.keep.size(); ++k) {
    const int64_t epoch = ladder.rungs[k];
    std::stable_sort(alive.begin(), alive.end(),
                     [&](size_t a, size_t b) { return accuracy(a, epoch) > accuracy(b, epoch); });
    alive.resize(ladder.keep[k]);
    std::sort(alive.begin(), alive.end());
    out.emplace_back(alive.begin(), alive.end());
  }
  return out;
}

// Runs the search with `jobs` runs at once, each ending in a random order; returns the epochs
// each point trained.
std::vector<int64_t> search(Halving& halving, size_t n, size_t jobs, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<int64_t> epochs(n, 0);
  std::vector<std::pair<size_t, int64_t>> running;  // point, to epoch
  while (true) {
    const std::vector<Step> steps = halving.steps();
    for (size_t i = 0; i < n && running.size() < jobs; ++i) {
      const bool busy =
          std::any_of(running.begin(), running.end(), [&](const auto& r) { return r.first == i; });
      if (steps[i].kind == Step::kTrain && !busy) {
        REQUIRE(steps[i].to_epoch > epochs[i]);  // never trains an epoch twice
        running.push_back({i, steps[i].to_epoch});
      }
    }
    if (running.empty()) return epochs;
    const size_t end = std::uniform_int_distribution<size_t>(0, running.size() - 1)(gen);
    const auto [point, to] = running[end];
    running.erase(running.begin() + long(end));
    epochs[point] = to;
    halving.record(point, trained(point, to), true);
  }
}

}  // namespace

TEST_CASE("the rungs multiply by eta up to train.epochs, and each keeps 1/eta of the last") {
  auto ladder = sweep::make_ladder(9, spec(3, 1), 9);
  CHECK(ladder.rungs == std::vector<int64_t>{1, 3, 9});
  CHECK(ladder.keep == std::vector<size_t>{3, 1});
  ladder = sweep::make_ladder(27, spec(3, 2), 20);
  CHECK(ladder.rungs == std::vector<int64_t>{2, 6, 18, 20});
  CHECK(ladder.keep == std::vector<size_t>{9, 3, 1});
  ladder = sweep::make_ladder(5, spec(2, 4), 4);  // min_epochs reaches the end: no halving
  CHECK(ladder.rungs == std::vector<int64_t>{4});
  CHECK(ladder.keep.empty());
  ladder = sweep::make_ladder(2, spec(4, 1), INT64_MAX);  // no overflow
  CHECK(ladder.rungs.back() == INT64_MAX);
  CHECK(ladder.keep.back() == 1);
}

TEST_CASE("halving promotes exactly the top 1/eta at each rung, whatever order runs end in") {
  struct Case {
    size_t n;
    int64_t eta;
    size_t jobs;
  };
  for (const Case c :
       {Case{9, 3, 1}, Case{9, 3, 4}, Case{27, 3, 5}, Case{20, 2, 3}, Case{10, 4, 2}}) {
    const size_t n = c.n, jobs = c.jobs;
    const int64_t eta = c.eta;
    for (uint64_t seed = 0; seed < 4; ++seed) {
      CAPTURE(n);
      CAPTURE(eta);
      CAPTURE(jobs);
      CAPTURE(seed);
      Halving halving(spec(eta, 1), n, 9);
      const std::vector<int64_t> epochs = search(halving, n, jobs, seed);
      const sweep::Ladder& ladder = halving.ladder();
      const auto expected = synchronous(n, ladder);
      int64_t total = 0;
      for (size_t i = 0; i < n; ++i) {
        total += epochs[i];
        // Its epochs are the rung after the last one it was taken past.
        size_t k = 0;
        while (k < expected.size() && expected[k].count(i)) ++k;
        CHECK(epochs[i] == ladder.rungs[k]);
      }
      for (const Step& s : halving.steps()) CHECK(s.kind == Step::kDone);
      if (n == 9 && eta == 3) CHECK(total == 9 * 1 + 3 * 2 + 1 * 6);
    }
  }
}

TEST_CASE("a point is pruned as soon as enough points beat it, and waits while it might go on") {
  Halving halving(spec(3, 1), 6, 3);  // rungs 1, 3; 2 go on
  auto at = [](double acc) {
    report::EpochRecord r;
    r.epoch = 1, r.val_acc = acc;
    return std::vector<report::EpochRecord>{r};
  };
  halving.record(0, at(0.5), true);
  CHECK(halving.steps()[0].kind == Step::kWait);  // 5 points may yet beat it
  halving.record(1, at(0.9), true);
  halving.record(2, at(0.8), true);
  std::vector<Step> steps = halving.steps();
  CHECK(steps[0].kind == Step::kDone);
  CHECK(steps[0].pruned_at == 1);
  CHECK(steps[0].why ==
        "2 of the 6 points at epoch 1 did better on val_acc than its 0.5, and "
        "the best 2 go on");
  CHECK(steps[1].kind == Step::kWait);  // 3 points may yet beat it
  halving.record(3, at(0.1), true);
  halving.record(4, at(0.2), true);
  halving.record(5, {}, false);  // failed before its first epoch: never goes on
  steps = halving.steps();
  CHECK(steps[1].kind == Step::kTrain);
  CHECK(steps[1].to_epoch == 3);
  CHECK(steps[2].kind == Step::kTrain);
  CHECK(steps[5].kind == Step::kDone);
  CHECK(steps[5].pruned_at == 0);
}

TEST_CASE("ties go to the earlier point, and a loss is better lower") {
  auto loss = [](double value) {
    report::EpochRecord r;
    r.epoch = 1, r.val_loss = value, r.val_acc = 0.5;
    return std::vector<report::EpochRecord>{r};
  };
  Halving halving(spec(2, 1, "val_loss"), 4, 2);  // 2 go on
  halving.record(0, loss(0.7), true);
  halving.record(1, loss(0.3), true);
  halving.record(2, loss(0.7), true);
  halving.record(3, loss(0.9), true);
  const std::vector<Step> steps = halving.steps();
  CHECK(steps[1].kind == Step::kTrain);
  CHECK(steps[0].kind == Step::kTrain);
  CHECK(steps[2].pruned_at == 1);
  CHECK(steps[3].pruned_at == 1);
}
