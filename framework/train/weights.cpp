#include "framework/train/weights.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/core/torch_file.h"
#include "framework/report/run_report.h"
#include "framework/train/checkpoint.h"
#include "framework/train/optim.h"

namespace dlx::train {

namespace {

namespace fs = std::filesystem;
using Kind = TorchValue::Kind;

constexpr size_t kNamesShown = 3;  // per problem kind: the first few, then a count

std::string shape_str(const std::vector<int64_t>& sizes) {
  return "[" + fmt::format("{}", fmt::join(sizes, ", ")) + "]";
}

struct Problem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The newest completed run in an experiment's folder (run ids are time-ordered), or "" when the
// folder holds none.
fs::path newest_completed_run(const fs::path& folder) {
  std::vector<fs::path> runs;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_directory() && fs::exists(entry.path() / "report.json"))
      runs.push_back(entry.path());
  std::sort(runs.rbegin(), runs.rend());
  for (const auto& run : runs) {
    try {
      if (report::read_run_report(run).status == report::RunStatus::kCompleted) return run;
    } catch (const std::exception&) {  // not a report: not a run to start from
    }
  }
  return {};
}

// The file a path names: itself, or a run folder's kept (or last) checkpoint; an experiment's
// folder of runs names its newest completed run.
fs::path weights_file(const config::WeightsSpec& w, std::vector<std::string>& notes) {
  fs::path path = w.file;
  if (!fs::exists(path)) throw Problem("no such file or folder");
  if (!fs::is_directory(path)) return path;
  if (!fs::exists(path / "report.json")) {
    if (const fs::path run = newest_completed_run(path); !run.empty()) {
      notes.push_back("the newest completed run of " + path.string() + ": " +
                      run.filename().string());
      path = run;
    }
  }
  const fs::path file = w.checkpoint == "last" ? last_weights_file(path) : kept_weights_file(path);
  if (!fs::exists(file))
    throw Problem("a folder without " + file.filename().string() +
                  " (not a dlx run folder, a run that saved no epoch, or an experiment's folder "
                  "without a completed run)");
  return file;
}

bool all_tensors(const TorchValue& v) {
  const auto entries = v.entries();
  if (entries.empty()) return false;
  for (auto [k, t] : entries)
    if (k->kind != Kind::kString || t->kind != Kind::kTensor) return false;
  return true;
}

const TorchValue* entry(const TorchValue& dict, const std::string& key) {
  for (auto [k, v] : dict.entries())
    if (k->kind == Kind::kString && k->text == key) return v;
  return nullptr;
}

// The state_dict in the file: the one `key` names, the top when it is one, or the first of the
// nestings Lightning, timm and torchvision's reference scripts write.
const TorchValue& find_state_dict(const TorchValue& root, const std::string& key,
                                  std::vector<std::string>& notes) {
  if (root.kind != Kind::kDict)
    throw Problem("holds " + root.describe() + ", not a state_dict (a dictionary of tensors)");
  if (!key.empty()) {
    const TorchValue* v = entry(root, key);
    if (!v) throw Problem("has no entry '" + key + "' (model.weights.key)");
    if (v->kind != Kind::kDict) throw Problem("'" + key + "' holds " + v->describe());
    return *v;
  }
  if (all_tensors(root)) return root;
  for (const char* k : {"state_dict", "model", "model_ema"}) {
    const TorchValue* v = entry(root, k);
    if (v && v->kind == Kind::kDict && !v->entries().empty()) {
      notes.push_back(std::string("the state_dict under '") + k + "'");
      return *v;
    }
  }
  std::vector<std::string> keys;
  for (auto [k, v] : root.entries())
    if (k->kind == Kind::kString && keys.size() < 6) keys.push_back(k->text);
  throw Problem(
      "holds no state_dict: no tensors at its top and no state_dict, model or "
      "model_ema entry (its entries: " +
      fmt::format("{}", fmt::join(keys, ", ")) + "; model.weights.key names one)");
}

// The file's tensors by name, its prefixes stripped and added as the spec says.
std::map<std::string, const TorchTensor*> named_tensors(const TorchValue& dict,
                                                        const config::WeightsSpec& w,
                                                        std::vector<std::string>& notes) {
  std::vector<std::pair<std::string, const TorchTensor*>> raw;
  for (auto [k, v] : dict.entries())
    if (k->kind == Kind::kString && v->kind == Kind::kTensor) raw.emplace_back(k->text, &v->tensor);
  if (raw.empty()) throw Problem("holds no tensors");
  std::string strip = w.strip_prefix;
  if (strip.empty()) {
    bool all = true;
    for (const auto& [name, t] : raw) all = all && name.rfind("module.", 0) == 0;
    if (all) {
      strip = "module.";
      notes.push_back("'module.' stripped from every name (DataParallel/DDP)");
    }
  }
  std::map<std::string, const TorchTensor*> out;
  for (const auto& [name, t] : raw) {
    std::string n = !strip.empty() && name.rfind(strip, 0) == 0 ? name.substr(strip.size()) : name;
    out[w.add_prefix + n] = t;
  }
  return out;
}

// The model's head: the tensors of its last layer with parameters.
std::set<std::string> head_keys(const nn::Network& net) {
  std::string head;
  for (const auto& l : net.layers)
    if (!l.group && l.parameters > 0) head = l.name;
  std::set<std::string> keys;
  for (const auto& [key, t] : net.state())
    if (!head.empty() && (key == head || key.rfind(head + ".", 0) == 0)) keys.insert(key);
  return keys;
}

std::string listed(const std::vector<std::string>& names, const std::vector<std::string>& others) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kNamesShown; ++i) {
    out += (i ? ", " : "") + names[i];
    const std::string close = closest_match(names[i], others);
    if (!close.empty()) out += " (did you mean " + close + "?)";
  }
  if (names.size() > kNamesShown) out += fmt::format(" and {} more", names.size() - kNamesShown);
  return out;
}

// A common first segment of the unmatched names on one side that the other side lacks
// (`backbone.`): the prefix to strip or add.
std::string prefix_hint(const std::vector<std::string>& model,
                        const std::vector<std::string>& file) {
  auto common = [](const std::vector<std::string>& names) -> std::string {
    if (names.empty()) return {};
    const std::string first = names[0].substr(0, names[0].find('.') + 1);
    if (first.empty() || first.back() != '.') return {};
    for (const auto& n : names)
      if (n.rfind(first, 0) != 0) return {};
    return first;
  };
  if (const std::string p = common(file); !p.empty())
    return "; the file's names start with '" + p + "': strip it (model.weights: {file: ..., " +
           "strip_prefix: '" + p + "'})";
  if (const std::string p = common(model); !p.empty())
    return "; the model's names start with '" + p + "': add it (model.weights: {file: ..., " +
           "add_prefix: '" + p + "'})";
  return {};
}

at::ScalarType scalar_type(const std::string& dtype) {
  static const std::map<std::string, at::ScalarType> types{
      {"float32", at::kFloat},     {"float64", at::kDouble}, {"float16", at::kHalf},
      {"bfloat16", at::kBFloat16}, {"int64", at::kLong},     {"int32", at::kInt},
      {"int16", at::kShort},       {"int8", at::kChar},      {"uint8", at::kByte},
      {"bool", at::kBool}};
  return types.at(dtype);
}

// The file's tensor as a LibTorch tensor of its own (its shape already matched the model's).
at::Tensor materialise(const TorchFile& file, const TorchTensor& t) {
  const TorchStorage& s = file.storages[size_t(t.storage)];
  const at::ScalarType type = scalar_type(s.dtype.name);
  at::Tensor out = at::empty(t.sizes, at::TensorOptions().dtype(type));
  bool contiguous = true;
  for (int64_t i = int64_t(t.sizes.size()) - 1, expect = 1; i >= 0; --i) {
    if (t.sizes[size_t(i)] != 1 && t.strides[size_t(i)] != expect) contiguous = false;
    expect *= t.sizes[size_t(i)];
  }
  if (contiguous) {
    std::memcpy(out.data_ptr(), file.data(t), size_t(out.numel()) * size_t(s.dtype.itemsize));
  } else {  // a strided view (rare in a state_dict): read through it, then copy
    const at::Tensor view = at::from_blob(const_cast<char*>(file.data(t)), t.sizes, t.strides,
                                          at::TensorOptions().dtype(type));
    out.copy_(view);
  }
  return out;
}

struct Match {
  std::vector<std::pair<std::string, at::Tensor>> load;  // model tensor, by name
  std::vector<std::string> missing, unexpected, mismatched, fresh;
};

Match match(nn::Network& net, const std::map<std::string, const TorchTensor*>& file,
            const config::WeightsSpec& w, std::vector<std::string>& notes) {
  Match m;
  const std::set<std::string> head = head_keys(net);
  std::vector<std::string> head_mismatch;
  std::set<std::string> used;
  for (auto& [key, target] : net.state()) {
    if (name_matches(key, w.fresh)) {
      m.fresh.push_back(key);
      used.insert(key);
      continue;
    }
    auto it = file.find(key);
    if (it == file.end()) {
      // PyTorch before 0.4.1 saved batch norm without num_batches_tracked, and its BatchNorm
      // loads such files: so does dlx, when the layer's running mean is there.
      const std::string counter = ".num_batches_tracked";
      if (key.size() > counter.size() &&
          key.compare(key.size() - counter.size(), counter.size(), counter) == 0 &&
          file.count(key.substr(0, key.size() - counter.size()) + ".running_mean"))
        m.fresh.push_back(key);
      else
        m.missing.push_back(key);
      continue;
    }
    used.insert(key);
    if (!target.sizes().equals(it->second->sizes)) {
      const std::string line = key + " " + shape_str(it->second->sizes) + " in the file, " +
                               shape_str(target.sizes().vec()) + " in the model";
      (head.count(key) ? head_mismatch : m.mismatched).push_back(line);
      if (head.count(key)) m.fresh.push_back(key);
      continue;
    }
    m.load.emplace_back(key, target);
  }
  for (const auto& [name, t] : file)
    if (!used.count(name)) m.unexpected.push_back(name);
  if (!head_mismatch.empty())
    notes.push_back("the head is new (its shape differs from the file's: " +
                    fmt::format("{}", fmt::join(head_mismatch, "; ")) + ")");
  return m;
}

void check(const Match& m, const std::vector<std::string>& model_names,
           const std::map<std::string, const TorchTensor*>& file) {
  std::vector<std::string> kinds;
  if (!m.missing.empty())
    kinds.push_back(fmt::format("{} of the model's {} tensors are not in the file: {}",
                                m.missing.size(), model_names.size(),
                                listed(m.missing, m.unexpected)));
  if (!m.unexpected.empty())
    kinds.push_back(fmt::format("{} of the file's {} tensors are not in the model: {}",
                                m.unexpected.size(), file.size(), listed(m.unexpected, m.missing)));
  if (!m.mismatched.empty()) {
    const auto shown = m.mismatched.begin() + long(std::min(m.mismatched.size(), kNamesShown));
    kinds.push_back(fmt::format("{} tensor{} in shape: {}", m.mismatched.size(),
                                m.mismatched.size() == 1 ? " differs" : "s differ",
                                fmt::join(m.mismatched.begin(), shown, "; ")));
  }
  if (kinds.empty()) return;
  std::string line = fmt::format("{}", fmt::join(kinds, "; "));
  if (!m.missing.empty() && !m.unexpected.empty()) line += prefix_hint(m.missing, m.unexpected);
  if (!m.missing.empty()) line += " (model.weights' `new:` leaves tensors as initialised)";
  throw Problem(line);
}

std::string hex(uint64_t h) {
  return fmt::format("{:016x}", h);
}

}  // namespace

StartedFrom start_from_weights(nn::Network& net, const config::WeightsSpec& w,
                               const Location& where) {
  StartedFrom out;
  try {
    const fs::path file = weights_file(w, out.notes);
    out.file = file.string();
    std::string bytes = read_file(file);
    out.hash = hex(fnv1a(bytes));
    const bool zip = bytes.rfind("PK", 0) == 0,
               legacy = !zip && !bytes.empty() && bytes[0] == '\x80';
    TorchFile torch_file;
    try {
      torch_file = read_torch_file(std::move(bytes));
    } catch (const TorchFileError& e) {
      // The other format may get through where this one does not.
      std::string hint;
      if (zip || legacy)
        hint = "; if PyTorch reads it, re-save it in the " +
               std::string(zip ? "older format" : "zip format") +
               ": python3 -c \"import torch; torch.save(torch.load('" + out.file +
               "', map_location='cpu'), 'resaved.pt'" +
               (zip ? ", _use_new_zipfile_serialization=False" : "") + ")\"";
      throw Problem(e.what() + hint);
    }
    const TorchValue& dict = find_state_dict(torch_file.root, w.key, out.notes);
    const auto tensors = named_tensors(dict, w, out.notes);
    std::vector<std::string> model_names;
    for (const auto& [key, t] : net.state()) model_names.push_back(key);
    for (const auto& pattern : w.fresh) {
      if (std::none_of(model_names.begin(), model_names.end(),
                       [&](const std::string& n) { return name_matches(n, {pattern}); })) {
        const std::string hint = did_you_mean(pattern, model_names);
        throw Problem("new: '" + pattern + "' matches none of the model's tensors" +
                      (hint.empty() ? "" : " (" + hint + ")"));
      }
    }
    Match m = match(net, tensors, w, out.notes);
    check(m, model_names, tensors);
    torch::NoGradGuard no_grad;
    for (auto& [key, target] : m.load) target.copy_(materialise(torch_file, *tensors.at(key)));
    out.loaded = int64_t(m.load.size());
    out.fresh = m.fresh;
  } catch (const Problem& p) {
    throw ConfigError::plain(where, "model.weights", w.file + ": " + p.what());
  }
  return out;
}

std::vector<std::string> start_table(const StartedFrom* from, const nn::Network& network,
                                     const std::vector<ParamGroup>& groups, double lr) {
  struct Row {
    std::string block;
    int64_t parameters = 0, loaded = 0, fresh = 0, frozen = 0;
    std::set<double> lrs;
  };
  std::map<std::string, std::pair<const ParamGroup*, size_t>> by_key;  // name -> group, index
  for (const auto& g : groups)
    for (size_t i = 0; i < g.keys.size(); ++i) by_key[g.keys[i]] = {&g, i};
  const std::set<std::string> fresh =
      from ? std::set<std::string>(from->fresh.begin(), from->fresh.end())
           : std::set<std::string>();
  std::vector<Row> rows;  // in the model's order
  for (const auto& [key, t] : network.state()) {
    const auto it = by_key.find(key);
    if (it == by_key.end()) continue;  // a buffer
    const auto& [group, index] = it->second;
    const std::string block = key.substr(0, key.find('.'));
    if (rows.empty() || rows.back().block != block) {
      rows.emplace_back();
      rows.back().block = block;
    }
    Row& row = rows.back();
    const int64_t n = t.numel();
    row.parameters += n;
    if (from) (fresh.count(key) ? row.fresh : row.loaded) += n;
    if (!group->params[index].requires_grad()) row.frozen += n;
    row.lrs.insert(lr * group->lr_mult);
  }
  std::vector<std::string> lines{fmt::format("{:<24} {:>12} {:>12} {:>12} {:>12}  {}", "block",
                                             "parameters", "loaded", "new", "frozen", "lr")};
  for (const auto& r : rows)
    lines.push_back(fmt::format("{:<24} {:>12} {:>12} {:>12} {:>12}  {:g}", r.block, r.parameters,
                                r.loaded, r.fresh, r.frozen, fmt::join(r.lrs, ", ")));
  return lines;
}

}  // namespace dlx::train
