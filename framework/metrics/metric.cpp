#include "framework/metrics/metric.h"

#include <ATen/ops/topk.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>

#include <algorithm>

#include <map>
#include <mutex>

namespace dlx::metrics {

namespace {

// The examples whose label is among their k highest logits (torch.topk, as torchvision's
// reference `accuracy(output, target, topk=(1, 5))`).
at::Tensor top_k_correct(const at::Tensor& logits, const at::Tensor& labels, int64_t k) {
  const at::Tensor top = std::get<1>(at::topk(logits, k, 1));
  return top.eq(labels.unsqueeze(1)).any(1).sum();
}

// "top5_acc" -> 5; 0 when `name` is not of the family.
int64_t top_k_of(const std::string& name) {
  const std::string head = "top", tail = "_acc";
  if (name.size() <= head.size() + tail.size() || name.rfind(head, 0) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
    return 0;
  const std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
  if (digits.size() > 6 || digits[0] == '0' ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  return std::stoll(digits);
}

}  // namespace

const std::vector<MetricEntry>& builtin_metrics() {
  static const std::vector<MetricEntry> table{
      {"acc",
       "accuracy: the share of examples whose highest logit is their label",
       true,
       [](const at::Tensor& logits, const at::Tensor& labels) {
         return logits.argmax(1).eq(labels).sum();
       },
       {}},
      {"loss", "the loss (train.loss), mean over the examples", /*higher_is_better=*/false, {}, {}},
      {"macro_f1",
       "the mean over classes of each class's F1 (harmonic mean of precision and recall), of the "
       "split's confusion matrix",
       true,
       {},
       [](const at::Tensor& confusion) { return class_scores(confusion).macro_f1; }},
  };
  return table;
}

const MetricEntry* find_metric(const std::string& name) {
  for (const auto& m : builtin_metrics())
    if (m.name == name) return &m;
  const int64_t k = top_k_of(name);
  if (k == 0) return nullptr;
  // Made once per K and kept: MetricKey and the loop hold pointers to entries.
  static std::mutex mutex;
  static std::map<int64_t, MetricEntry> family;
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, made] = family.try_emplace(k);
  if (made) {
    it->second = MetricEntry{
        name,
        "top-K accuracy: the share of examples whose label is among their K highest logits",
        true,
        [k](const at::Tensor& logits, const at::Tensor& labels) {
          return top_k_correct(logits, labels, k);
        },
        {},
        k};
  }
  return &it->second;
}

std::vector<const MetricEntry*> recorded_metrics(const std::vector<std::string>& names,
                                                 int64_t classes, const std::string& key,
                                                 const Location& where) {
  std::vector<const MetricEntry*> out{find_metric("acc")};
  for (const auto& name : names) {
    const MetricEntry* m = find_metric(name);
    if (!m || m->name == "loss") {
      std::vector<std::string> known{"acc", "macro_f1", "topK_acc (top5_acc)"};
      throw ConfigError(where, key, "metric names: " + join(known), "'" + name + "'",
                        did_you_mean(name, {"acc", "macro_f1", "top5_acc"}));
    }
    if (m->k > classes)
      throw ConfigError(where, key,
                        "topK_acc with K at most the " + std::to_string(classes) + " classes",
                        "'" + name + "'");
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

ClassScores class_scores(const at::Tensor& confusion) {
  const at::Tensor c = confusion.to(at::kDouble);
  const at::Tensor hits = c.diagonal(), predicted = c.sum(0), present = c.sum(1);
  // 0/0 is 0, as scikit-learn's zero_division=0.
  auto ratio = [](const at::Tensor& a, const at::Tensor& b) {
    return at::where(b.gt(0), a / b.clamp_min(1e-300), at::zeros_like(a));
  };
  const at::Tensor precision = ratio(hits, predicted), recall = ratio(hits, present);
  const at::Tensor f1 = ratio(2 * precision * recall, precision + recall);
  auto list = [](const at::Tensor& t) {
    return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  };
  ClassScores s{list(precision), list(recall), list(f1), 0, 0, 0};
  const double n = double(s.f1.size());
  for (size_t i = 0; i < s.f1.size(); ++i) {
    s.macro_precision += s.precision[i] / n, s.macro_recall += s.recall[i] / n;
    s.macro_f1 += s.f1[i] / n;
  }
  return s;
}

const std::vector<std::string>& splits() {
  static const std::vector<std::string> names{"train", "val", "test"};
  return names;
}

std::optional<MetricKey> parse_metric(const std::string& name) {
  const bool ema = name.rfind("ema_", 0) == 0;
  const std::string figure = ema ? name.substr(4) : name;
  for (const auto& split : splits()) {
    if (figure.rfind(split + "_", 0) != 0 || (ema && split == "train")) continue;
    if (const MetricEntry* m = find_metric(figure.substr(split.size() + 1)))
      return MetricKey{split, m, ema};
  }
  return std::nullopt;
}

std::vector<std::string> criterion_names() {
  // Validation first: it is what a criterion should be.
  std::vector<std::string> names;
  for (const std::string split : {"val", "train"}) {
    for (const auto& m : builtin_metrics())
      if (split == "val" || !m.of_confusion) names.push_back(split + "_" + m.name);
    names.push_back(split + "_topK_acc");
  }
  return names;
}

MetricKey criterion(const std::string& name, const std::string& key, const Location& where) {
  const auto parsed = parse_metric(name);
  if (parsed && parsed->split == "val") return *parsed;
  if (parsed && parsed->split == "train" && !parsed->metric->of_confusion) return *parsed;
  if (parsed && parsed->split == "train")
    throw ConfigError::plain(where, key,
                             name + " is measured on the evaluation splits only: use val_" +
                                 parsed->metric->name + " (with data.val_split)");
  if (parsed) {
    const std::string& m = parsed->metric->name;
    throw ConfigError::plain(where, key,
                             name +
                                 " is measured on the test split, which must not choose: use "
                                 "val_" +
                                 m + " (with data.val_split) or train_" + m);
  }
  const std::vector<std::string> names = criterion_names();
  std::vector<std::string> suggestions{"val_top5_acc", "train_top5_acc"};
  for (const auto& n : names)
    if (n.find("topK") == std::string::npos) suggestions.push_back(n);
  throw ConfigError(where, key, "one of " + join(names), "'" + name + "'",
                    did_you_mean(name, suggestions));
}

}  // namespace dlx::metrics
