#include "framework/export/onnx.h"

#include <fmt/format.h>
#include <onnx/checker.h>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/files.h"
#include "framework/experiment/experiment.h"
#include "framework/export/graph.h"
#include "framework/nn/groups.h"
#include "framework/report/run_report.h"
#include "framework/train/checkpoint.h"
#include "framework/train/ema.h"

namespace dlx::onnx_export {

onnx::AttributeProto ints(const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a.add_ints(v);
  return a;
}

onnx::AttributeProto integer(const std::string& name, int64_t value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
  return a;
}

onnx::AttributeProto real(const std::string& name, float value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(value);
  return a;
}

std::string GraphWriter::node(const std::string& op, const std::string& name,
                              const std::vector<std::string>& inputs,
                              const std::vector<onnx::AttributeProto>& attributes) {
  onnx::NodeProto* n = graph_.add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : inputs) n->add_input(i);
  n->add_output(name);
  for (const auto& a : attributes) *n->add_attribute() = a;
  return name;
}

std::string GraphWriter::weight(const std::string& name, const at::Tensor& tensor) {
  // int64 stays int64 (shapes, indices); anything else is written as float32.
  const bool integers = tensor.scalar_type() == at::kLong;
  const at::Tensor t = tensor.detach().to(at::kCPU, integers ? at::kLong : at::kFloat).contiguous();
  onnx::TensorProto* w = graph_.add_initializer();
  w->set_name(name);
  w->set_data_type(integers ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT);
  for (int64_t d : t.sizes()) w->add_dims(d);
  // raw_data is little-endian, as float32 and int64 are on every machine LibTorch runs on.
  w->set_raw_data(t.data_ptr(), size_t(t.numel()) * t.element_size());
  return name;
}

namespace {

// Walks the built network's modules in order, as its forward() runs them: groups in sequence,
// parallel branches from the same input, every layer through its type's exporter.
class Walker {
 public:
  Walker(GraphWriter& g, const nn::Network& net) : g_(g) {
    for (const auto& l : net.layers) rows_[l.module] = &l;
  }

  std::string sequence(const torch::nn::Module& seq, const std::string& prefix, std::string x,
                       nn::Shape& shape) {
    for (const auto& child : seq.named_children())
      x = entry(child.key(), *child.value(), prefix, x, shape);
    return x;
  }

 private:
  std::string entry(const std::string& name, const torch::nn::Module& module,
                    const std::string& prefix, const std::string& x, nn::Shape& shape) {
    const std::string path = prefix + name;
    if (const auto* p = dynamic_cast<const nn::ParallelImpl*>(&module))
      return parallel(*p, path, x, shape);
    if (dynamic_cast<const nn::GroupImpl*>(&module)) return sequence(module, path + ".", x, shape);
    const nn::LayerSummary& r = row(path);
    // Named by its checkpoint key, so that the ONNX initialisers are the state_dict's names.
    const std::string& key = r.name;
    const auto exporter = layer_exporters().find(r.type);
    if (exporter == layer_exporters().end())
      throw RuntimeError("cannot export layer " + key + " (" + r.type +
                         "): dlx has no ONNX form for this layer type");
    try {
      const std::string y =
          exporter->second(g_, LayerNode{module, key, r.type, shape, r.output, x});
      shape = r.output;
      return y;
    } catch (const Unexportable& e) {
      throw RuntimeError("cannot export layer " + key + " (" + r.type + "): " + e.what());
    }
  }

  std::string parallel(const nn::ParallelImpl& p, const std::string& path, const std::string& x,
                       nn::Shape& shape) {
    std::vector<std::string> outs;
    for (size_t i = 0; i < p.branches().size(); ++i) {
      nn::Shape s = shape;
      outs.push_back(sequence(*p.branches()[i], path + ".branch" + std::to_string(i) + ".", x, s));
    }
    shape = row(path).output;
    if (p.concat()) return g_.node("Concat", path, outs, {integer("axis", 1)});
    // Add and Mul broadcast as PyTorch does (a gate's C x 1 x 1 against C x H x W).
    const char* op = p.merge() == nn::Merge::kMul ? "Mul" : "Add";
    std::string sum = outs[0];
    for (size_t i = 1; i < outs.size(); ++i)
      sum = g_.node(op, i + 1 == outs.size() ? path : path + "/" + op + std::to_string(i),
                    {sum, outs[i]});
    return sum;
  }

  const nn::LayerSummary& row(const std::string& path) const {
    auto it = rows_.find(path);
    if (it == rows_.end()) throw std::logic_error("no summary row for module " + path);
    return *it->second;
  }

  GraphWriter& g_;
  std::map<std::string, const nn::LayerSummary*> rows_;
};

// The IR version that ONNX's release of each opset wrote (onnx/docs/Versioning.md).
int64_t ir_version(int64_t opset) {
  return opset <= 11 ? 6 : opset <= 14 ? 7 : 8;
}

void set_tensor_type(onnx::ValueInfoProto& v, const std::string& name,
                     const std::optional<int64_t>& batch, const nn::Shape& rest) {
  v.set_name(name);
  onnx::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto_Dimension* n = t->mutable_shape()->add_dim();
  if (batch)
    n->set_dim_value(*batch);
  else
    n->set_dim_param("N");
  for (int64_t d : rest) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// (x - mean) / std per channel, as data::prepare_images normalises. The statistics are C x 1 x 1,
// which broadcasts as 1 x C x 1 x 1 does; OpenCV 4.6's importer accepts only the former.
std::string normalize(GraphWriter& g, const data::Normalization& n, const std::string& x) {
  const int64_t c = int64_t(n.mean.size());
  auto stat = [&](const std::vector<double>& v, const std::string& name) {
    return g.weight(name, at::tensor(v, at::kDouble).to(at::kFloat).view({c, 1, 1}));
  };
  const std::string centred = g.node("Sub", "normalize/sub", {x, stat(n.mean, "normalize.mean")});
  return g.node("Div", "normalize", {centred, stat(n.std, "normalize.std")});
}

// Names the network's last tensor `name`: the node that makes it is renamed, or an Identity made.
void name_output(onnx::GraphProto& graph, GraphWriter& g, const std::string& last,
                 const std::string& name) {
  for (auto& n : *graph.mutable_node())
    if (n.output(0) == last) {
      n.set_output(0, name);
      return;
    }
  g.node("Identity", name, {last});
}

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n') c = ' ';
  return text;
}

}  // namespace

std::string onnx_model(const nn::Network& network, const ModelOptions& options) {
  onnx::ModelProto model;
  model.set_ir_version(ir_version(options.opset));
  model.set_producer_name("dlx");
  model.set_producer_version(DLX_VERSION);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  for (const auto& [key, value] : options.metadata) {
    onnx::StringStringEntryProto* p = model.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
  }
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("dlx");
  set_tensor_type(*graph.add_input(), "images", options.batch, network.input);
  GraphWriter g(graph);
  std::string x = "images";
  if (!options.normalize.empty()) x = normalize(g, options.normalize, x);
  nn::Shape shape = network.input;
  name_output(graph, g, Walker(g, network).sequence(*network.body, "", x, shape), "logits");
  set_tensor_type(*graph.add_output(), "logits", options.batch, network.output());
  if (options.probabilities) {
    g.node("Softmax", "probabilities", {"logits"}, {integer("axis", 1)});
    set_tensor_type(*graph.add_output(), "probabilities", options.batch, network.output());
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    throw RuntimeError("the ONNX model is over protobuf's 2 GiB limit");
  check_onnx(bytes);
  return bytes;
}

bool has_exporter(const std::string& type) {
  return layer_exporters().count(type) > 0;
}

void check_onnx(const std::string& bytes) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) throw RuntimeError("not an ONNX model (protobuf refuses it)");
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw RuntimeError("ONNX's checker refuses the model: " + one_line(e.what()));
  }
}

namespace {

// Before any work: the file's folder must exist (write_file_atomic names only its temporary file),
// and an existing file is replaced only when it is an .onnx file, so that a slip of the tongue
// (`dlx export RUN RUN/checkpoint.pt`) cannot put a model over a run's weights or anything else.
void require_writable(const std::filesystem::path& file) {
  const std::filesystem::path parent =
      file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  if (std::filesystem::is_directory(file))
    throw RuntimeError(file.string() + ": cannot write: it is a folder");
  if (std::filesystem::exists(file) && file.extension() != ".onnx")
    throw RuntimeError(file.string() +
                       ": will not write over it: dlx export replaces only .onnx files");
  if (!std::filesystem::is_directory(parent))
    throw RuntimeError(file.string() + ": cannot write: no folder " + parent.string());
}

std::filesystem::path checkpoint_to_export(const std::filesystem::path& folder, Weights weights) {
  const std::filesystem::path best = train::best_weights_file(folder);
  if (weights == Weights::kBest && !std::filesystem::exists(best))
    throw RuntimeError(best.string() +
                       ": missing (the run keeps a best epoch only when train.select names a "
                       "metric); --weights last exports checkpoint.pt");
  const std::filesystem::path chosen = weights == Weights::kLast ? train::last_weights_file(folder)
                                       : weights == Weights::kEma
                                           ? train::ema_weights_file(folder)
                                           : train::kept_weights_file(folder);
  if (!std::filesystem::exists(chosen))
    throw RuntimeError(chosen.string() +
                       ": missing, so the run has no weights to export (it saves them after "
                       "each epoch: did one finish?)");
  return chosen;
}

void refuse_unfinished_training(const std::filesystem::path& folder, const report::RunReport& run,
                                bool force) {
  if (force) return;
  if (run.status != report::RunStatus::kFailed && run.status != report::RunStatus::kDiverged)
    return;
  throw RuntimeError((folder / "report.json").string() + ": the run " +
                     report::status_name(run.status) +
                     (run.error.empty() ? "" : " (" + run.error + ")") +
                     ", so its weights may be no trained model; --force exports them anyway");
}

// The run folder's own name, also when it was given as "runs/x/" or ".".
std::string run_name(const std::filesystem::path& folder) {
  const std::filesystem::path normal = std::filesystem::absolute(folder).lexically_normal();
  return (normal.has_filename() ? normal : normal.parent_path()).filename().string();
}

std::vector<std::pair<std::string, std::string>> run_metadata(
    const std::filesystem::path& folder, const report::RunReport& run,
    const std::filesystem::path& checkpoint, const nn::Network& net, bool normalised) {
  const nn::Shape& in = net.input;
  return {
      {"class_names", nlohmann::json(run.data->class_names).dump()},
      {"input", fmt::format("images: float32 pixels in [0, 1], N x {} x {} x {}{}", in[0], in[1],
                            in[2], normalised ? "; the model normalises them itself" : "")},
      {"dlx_run", run_name(folder)},
      {"dlx_experiment", run.experiment},
      {"dlx_checkpoint", checkpoint.filename().string()},
      {"dlx_epochs_trained", std::to_string(run.epochs.size())},
      {"dlx_status", report::status_name(run.status)},
  };
}

}  // namespace

ExportSummary export_run(const std::filesystem::path& folder, const std::filesystem::path& file,
                         const RunExportOptions& options) {
  if (options.opset < kMinOpset || options.opset > kMaxOpset)
    throw ConfigError({"--opset"}, "", fmt::format("an opset from {} to {}", kMinOpset, kMaxOpset),
                      std::to_string(options.opset));
  if (options.batch && *options.batch < 1)
    throw ConfigError({"--batch"}, "", "a batch size >= 1, or dynamic",
                      std::to_string(*options.batch));
  require_writable(file);
  const report::RunReport run = report::read_run_report(folder);
  refuse_unfinished_training(folder, run, options.force);
  if (!run.data) throw RuntimeError((folder / "report.json").string() + ": no data section");
  const std::filesystem::path checkpoint = checkpoint_to_export(folder, options.weights);
  const config::ExperimentSpec spec = experiment::load(folder / "config.yaml");
  nn::Network net = experiment::build_network(spec);
  train::load_weights(net, train::read_weights(checkpoint));
  net.body->eval();

  ModelOptions model;
  model.opset = options.opset;
  model.batch = options.batch;
  model.probabilities = options.probabilities;
  model.normalize = {run.data->mean, run.data->std};
  model.metadata = run_metadata(folder, run, checkpoint, net, !model.normalize.empty());
  const std::string bytes = onnx_model(net, model);
  write_file_atomic(file, bytes);
  onnx::ModelProto written;
  written.ParseFromString(bytes);
  return {checkpoint, report::status_name(run.status), int64_t(bytes.size()),
          int64_t(written.graph().node_size())};
}

}  // namespace dlx::onnx_export
